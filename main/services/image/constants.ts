/** Sector size the card layout uses; FAT32 here always has 512-byte logical sectors. */
export const SECTOR_SIZE = 512;

/** The boot partition starts at 1 MiB, as every SD-card formatter and Alpine's own images do. */
export const PARTITION_START_LBA = 2048;
export const PARTITION_START_BYTES = PARTITION_START_LBA * SECTOR_SIZE;

/** MBR partition type 0x0C: W95 FAT32 (LBA), understood by every Raspberry Pi boot ROM. */
export const PARTITION_TYPE_FAT32_LBA = 0x0c;

/** An MBR addresses sectors 0 .. 2^32 - 1: 2 TiB. */
export const MAX_MBR_SECTORS = 2 ** 32;
/** FAT32 counts its sectors in 32 bits. */
export const MAX_FAT32_SECTORS = 0xffff_ffff;
/** The largest boot partition at 1 MiB whose last sector an MBR can still address: 2 TiB - 1 MiB. */
export const MAX_PARTITION_SECTORS = MAX_MBR_SECTORS - PARTITION_START_LBA;

/** FAT32 proper: fewer clusters than this and every driver reads the volume as FAT16. */
export const MIN_FAT32_CLUSTERS = 65_525;
/** Cluster numbers are 28 bits; 0x0FFFFFF7 and above are reserved. */
export const MAX_FAT32_CLUSTERS = 0x0fff_fff5;
