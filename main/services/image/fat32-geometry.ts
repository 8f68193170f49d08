import { AppError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import { MAX_FAT32_CLUSTERS, MAX_FAT32_SECTORS, MIN_FAT32_CLUSTERS, SECTOR_SIZE } from './constants.js';

/** Layout of a FAT32 volume, in sectors relative to the start of the volume. */
export interface Fat32Geometry {
  totalSectors: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: 2;
  sectorsPerFat: number;
  /** First sector of the cluster heap (cluster 2). */
  dataStartSector: number;
  clusterCount: number;
  clusterSize: number;
}

/**
 * Microsoft's FAT specification, "FAT32 Disk Table": sectors per cluster by volume size
 * (in 512-byte sectors). The specification refuses volumes up to 66 600 sectors; below
 * that, 1 sector per cluster is still used as long as the cluster count stays FAT32.
 */
const clusterTable: readonly [maxSectors: number, sectorsPerCluster: number][] = [
  [532_480, 1], // up to 260 MB: 512 B clusters
  [16_777_216, 8], // up to 8 GB: 4 KiB
  [33_554_432, 16], // up to 16 GB: 8 KiB
  [67_108_864, 32], // up to 32 GB: 16 KiB
  [Number.POSITIVE_INFINITY, 64], // larger: 32 KiB
];

export function sectorsPerClusterFor(totalSectors: number): number {
  for (const [limit, sectorsPerCluster] of clusterTable) {
    if (totalSectors <= limit) return sectorsPerCluster;
  }
  return 64;
}

const MIN_RESERVED_SECTORS = 32;

function layout(totalSectors: number, sectorsPerCluster: number): Fat32Geometry {
  // The cluster heap starts on a cluster boundary (at least 4 KiB) so that cluster writes line
  // up with flash pages; the padding goes into the reserved area, as mkfs.fat does.
  const alignment = Math.max(sectorsPerCluster, 8);
  let reservedSectors = MIN_RESERVED_SECTORS;
  let sectorsPerFat = 0;
  for (let round = 0; round < 8; round += 1) {
    // The specification's FAT size formula for FAT32 (two FATs).
    const divisor = (256 * sectorsPerCluster + 2) / 2;
    sectorsPerFat = Math.ceil((totalSectors - reservedSectors) / divisor);
    const dataStart = reservedSectors + 2 * sectorsPerFat;
    const padding = (alignment - (dataStart % alignment)) % alignment;
    if (padding === 0) break;
    reservedSectors += padding;
  }
  const dataStartSector = reservedSectors + 2 * sectorsPerFat;
  const clusterCount = Math.max(0, Math.floor((totalSectors - dataStartSector) / sectorsPerCluster));
  return {
    totalSectors,
    sectorsPerCluster,
    reservedSectors,
    fatCount: 2,
    sectorsPerFat,
    dataStartSector,
    clusterCount,
    clusterSize: sectorsPerCluster * SECTOR_SIZE,
  };
}

/** The smallest volume, in sectors, that is still FAT32 proper (>= 65 525 clusters). */
export const MIN_FAT32_SECTORS: number = (() => {
  let low = MIN_FAT32_CLUSTERS;
  let high = 80_000;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (layout(middle, 1).clusterCount >= MIN_FAT32_CLUSTERS) high = middle;
    else low = middle + 1;
  }
  return low;
})();

/** FAT32 geometry for a volume of `totalSectors` 512-byte sectors. */
export function computeFat32Geometry(totalSectors: number): Fat32Geometry {
  if (!Number.isSafeInteger(totalSectors) || totalSectors < MIN_FAT32_SECTORS) {
    throw new AppError(
      'too-small',
      `a FAT32 partition needs at least ${formatBytes(MIN_FAT32_SECTORS * SECTOR_SIZE)} (${MIN_FAT32_SECTORS} sectors); ${formatBytes(Math.max(0, totalSectors) * SECTOR_SIZE)} is too small`,
      { hint: 'choose a larger --size, for example 256MiB' },
    );
  }
  if (totalSectors > MAX_FAT32_SECTORS) {
    throw new AppError(
      'invalid-input',
      `a FAT32 volume holds at most ${MAX_FAT32_SECTORS} sectors (2 TiB); ${formatBytes(totalSectors * SECTOR_SIZE)} is too large`,
    );
  }
  const geometry = layout(totalSectors, sectorsPerClusterFor(totalSectors));
  if (geometry.clusterCount < MIN_FAT32_CLUSTERS || geometry.clusterCount > MAX_FAT32_CLUSTERS) {
    throw new AppError('internal', `no FAT32 geometry for ${totalSectors} sectors`);
  }
  return geometry;
}

/** Byte offset of a cluster's first byte, relative to the volume start. */
export function clusterOffset(geometry: Fat32Geometry, cluster: number): number {
  return (geometry.dataStartSector + (cluster - 2) * geometry.sectorsPerCluster) * SECTOR_SIZE;
}
