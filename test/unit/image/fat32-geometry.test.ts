import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_FAT32_SECTORS,
  MAX_PARTITION_SECTORS,
  MIN_FAT32_CLUSTERS,
} from '../../../main/services/image/constants.js';
import {
  MIN_FAT32_SECTORS,
  computeFat32Geometry,
  sectorsPerClusterFor,
} from '../../../main/services/image/fat32-geometry.js';

const MiB = 2048; // sectors

describe('FAT32 geometry', () => {
  it('uses the cluster sizes of the specification table', () => {
    expect(sectorsPerClusterFor(256 * MiB)).toBe(1);
    expect(sectorsPerClusterFor(260 * MiB)).toBe(1);
    expect(sectorsPerClusterFor(512 * MiB)).toBe(8);
    expect(sectorsPerClusterFor(8 * 1024 * MiB)).toBe(8);
    expect(sectorsPerClusterFor(16 * 1024 * MiB)).toBe(16);
    expect(sectorsPerClusterFor(32 * 1024 * MiB)).toBe(32);
    expect(sectorsPerClusterFor(64 * 1024 * MiB)).toBe(64);
  });

  it('starts at the smallest volume that is still FAT32 proper', () => {
    expect(computeFat32Geometry(MIN_FAT32_SECTORS).clusterCount).toBeGreaterThanOrEqual(MIN_FAT32_CLUSTERS);
    expect(() => computeFat32Geometry(MIN_FAT32_SECTORS - 1)).toThrow(/at least .* \(\d+ sectors\)/);
    expect(MIN_FAT32_SECTORS * 512).toBeLessThan(33 * 1024 * 1024);
  });

  it('goes up to the 2 TiB an MBR can describe', () => {
    const largest = computeFat32Geometry(MAX_PARTITION_SECTORS);
    expect(largest.sectorsPerCluster).toBe(64);
    expect(largest.clusterCount).toBeGreaterThan(67_000_000);
    expect(computeFat32Geometry(MAX_FAT32_SECTORS).clusterCount).toBeGreaterThan(67_000_000);
    expect(() => computeFat32Geometry(MAX_FAT32_SECTORS + 1)).toThrow(/at most/);
  });

  it('lays out a 512 MiB volume like the specification formula', () => {
    const geometry = computeFat32Geometry(512 * MiB);
    expect(geometry).toMatchObject({ sectorsPerCluster: 8, fatCount: 2, clusterSize: 4096 });
    expect(geometry.reservedSectors).toBeGreaterThanOrEqual(32);
    expect(geometry.dataStartSector % 8).toBe(0);
  });
});

describe('geometry properties', () => {
  it('is valid FAT32 for every size from the smallest to 2 TiB', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_FAT32_SECTORS, max: MAX_FAT32_SECTORS }), (sectors) => {
        const g = computeFat32Geometry(sectors);
        expect(g.clusterCount).toBeGreaterThanOrEqual(MIN_FAT32_CLUSTERS);
        expect(g.clusterCount).toBeLessThanOrEqual(0x0ffffff5);
        // The FATs hold an entry for every cluster plus the two reserved entries...
        expect(g.sectorsPerFat * 128).toBeGreaterThanOrEqual(g.clusterCount + 2);
        // ...and the specification's formula over-allocates by under 1%.
        expect(g.sectorsPerFat * 128 - (g.clusterCount + 2)).toBeLessThanOrEqual(Math.ceil(g.clusterCount / 100) + 128);
        // The regions fit and the cluster heap is aligned to the cluster size (at least 4 KiB).
        expect(g.dataStartSector).toBe(g.reservedSectors + 2 * g.sectorsPerFat);
        expect(g.dataStartSector + g.clusterCount * g.sectorsPerCluster).toBeLessThanOrEqual(sectors);
        expect(sectors - g.dataStartSector - g.clusterCount * g.sectorsPerCluster).toBeLessThan(g.sectorsPerCluster);
        expect(g.dataStartSector % Math.max(8, g.sectorsPerCluster)).toBe(0);
        expect(g.reservedSectors).toBeGreaterThanOrEqual(32);
        expect(g.reservedSectors).toBeLessThan(32 + Math.max(8, g.sectorsPerCluster) * 2);
        expect(g.sectorsPerCluster).toBe(sectorsPerClusterFor(sectors));
      }),
      { numRuns: 2000 },
    );
  });
});
