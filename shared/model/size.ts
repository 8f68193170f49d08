import { AppError } from '../errors.js';

const units: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/**
 * The largest boot partition an MBR can address: it starts at 1 MiB and its last sector must
 * be below 2^32, so 2 TiB - 1 MiB (main/services/image/constants.ts derives the same in sectors).
 */
export const MAX_MBR_PARTITION_BYTES = (2 ** 32 - 2048) * 512;

/**
 * Parse a size such as `512MiB`, `2GiB`, `1.5G` or `1048576`. Single-letter units are binary
 * (as `dd` and `truncate` read them); `MB`/`GB` are decimal.
 */
export function parseSize(text: string, field = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const factor = units[unit];
  if (match === null || factor === undefined) {
    throw new AppError('invalid-input', `cannot read "${text}" as a size`, {
      location: field,
      hint: 'write a number with a unit, for example 512MiB, 2GiB or 4GB',
    });
  }
  const value = Math.floor(Number(match[1]) * factor);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AppError('invalid-input', `"${text}" is not a usable size`, { location: field });
  }
  return value;
}

/** `1.5 MiB`, `512 MiB`, `2 TiB`: binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const names = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let index = 0;
  while (value >= 1024 && index < names.length - 1) {
    value /= 1024;
    index += 1;
  }
  const rounded = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${rounded} ${names[index] ?? 'TiB'}`;
}

/**
 * Why a partition holds fewer bytes of files than its size: "1022 MiB for files, 2 MiB for the
 * FATs and reserved sectors" (of a 1 GiB FAT32 partition). The room for files is the cluster
 * heap (clusters times cluster size); the rest is the reserved sectors (boot sector, FSInfo, their
 * backups, alignment), the two FATs, and the few sectors too few to make a cluster.
 */
export function describeFileSpace(partitionBytes: number, fileSpaceBytes: number): string {
  return `${formatBytes(fileSpaceBytes)} for files, ${formatBytes(partitionBytes - fileSpaceBytes)} for the FATs and reserved sectors`;
}
