import { AppError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import { MAX_PARTITION_SECTORS, SECTOR_SIZE } from '../image/constants.js';
import { MIN_FAT32_SECTORS } from '../image/fat32-geometry.js';

const MAX_PARTITION_MIB = MAX_PARTITION_SECTORS / 2048;

/**
 * A size the card's partition can have: whole sectors, at least the smallest FAT32 volume, and
 * at most what an MBR can address (its 32-bit sector numbers end at 2 TiB, and the partition
 * starts at 1 MiB: 2 TiB - 1 MiB). `location` names where the size came from.
 */
export function checkPartitionSize(bytes: number, location: string): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % SECTOR_SIZE !== 0) {
    throw new AppError(
      'invalid-input',
      `the partition size ${bytes} is not a whole number of ${SECTOR_SIZE}-byte sectors`,
      { location, hint: 'give the size in MiB or GiB, for example 512MiB' },
    );
  }
  if (bytes > MAX_PARTITION_SECTORS * SECTOR_SIZE) {
    throw new AppError(
      'invalid-input',
      `a ${formatBytes(bytes)} partition (${bytes} bytes) is larger than an MBR can address: its sector numbers end at 2 TiB and the partition starts at 1 MiB, so it can have at most 2 TiB - 1 MiB (${MAX_PARTITION_MIB} MiB)`,
      { location, hint: `give ${MAX_PARTITION_MIB}MiB or less` },
    );
  }
  if (bytes < MIN_FAT32_SECTORS * SECTOR_SIZE) {
    throw new AppError(
      'too-small',
      `a FAT32 partition needs at least ${formatBytes(MIN_FAT32_SECTORS * SECTOR_SIZE)} (${MIN_FAT32_SECTORS} sectors); ${formatBytes(bytes)} is too small`,
      { location, hint: 'give 64MiB or more, for example 256MiB' },
    );
  }
}

/** Run `check`; an AppError it throws is reported at `location`. */
export function relocate(check: () => unknown, location: string): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError(error.code, error.message, {
      location,
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      cause: error,
    });
  }
}
