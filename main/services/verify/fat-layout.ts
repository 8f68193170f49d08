import type { BootSector } from '../image/fat32-boot-sector.js';
import type { ByteRange } from './fat-findings.js';

/** Where the parts of a FAT32 volume are on the medium, in bytes. */
export interface FatLayout {
  /** First byte of the partition (the boot sector). */
  partitionOffset: number;
  partitionLength: number;
  bytesPerSector: number;
  clusterSize: number;
  /** Data clusters: numbers 2 .. clusterCount + 1. */
  clusterCount: number;
  rootCluster: number;
  /** First byte of the first FAT. */
  fatOffset: number;
  /** Bytes of one FAT copy. */
  fatBytes: number;
  fatCount: number;
  /** False when the boot sector turns mirroring off: then only the active FAT counts. */
  mirrored: boolean;
  /** The FAT drivers read: 0 (the first) unless mirroring is off. */
  activeFat: number;
  /** First byte of cluster 2. */
  dataOffset: number;
}

export function fatLayout(boot: BootSector, partitionOffset: number, partitionLength: number): FatLayout {
  const sector = boot.bytesPerSector;
  const dataSector = boot.reservedSectors + boot.fatCount * boot.sectorsPerFat32;
  return {
    partitionOffset,
    partitionLength,
    bytesPerSector: sector,
    clusterSize: sector * boot.sectorsPerCluster,
    clusterCount: Math.floor((boot.totalSectors32 - dataSector) / boot.sectorsPerCluster),
    rootCluster: boot.rootCluster,
    fatOffset: partitionOffset + boot.reservedSectors * sector,
    fatBytes: boot.sectorsPerFat32 * sector,
    fatCount: boot.fatCount,
    mirrored: (boot.extFlags & 0x80) === 0,
    activeFat: boot.extFlags & 0x80 ? Math.min(boot.extFlags & 0x0f, boot.fatCount - 1) : 0,
    dataOffset: partitionOffset + dataSector * sector,
  };
}

export function isDataCluster(layout: FatLayout, cluster: number): boolean {
  return cluster >= 2 && cluster < layout.clusterCount + 2;
}

/** The bytes of `count` clusters from `first` on the medium. */
export function clusterBytes(layout: FatLayout, first: number, count = 1): ByteRange {
  const start = layout.dataOffset + (first - 2) * layout.clusterSize;
  return { start, end: start + count * layout.clusterSize };
}

/** The bytes of the entries for `count` clusters from `first` in FAT number `copy`. */
export function fatEntryBytes(layout: FatLayout, copy: number, first: number, count = 1): ByteRange {
  const start = layout.fatOffset + copy * layout.fatBytes + first * 4;
  return { start, end: start + count * 4 };
}
