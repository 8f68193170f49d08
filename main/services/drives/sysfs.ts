import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * Block devices as Linux's sysfs describes them: /sys/dev/block/<major>:<minor> links to the
 * device's folder; a partition's folder is inside its drive's and has a `partition` file; a
 * device-mapper or RAID device lists what it is built on in `slaves/`; a loop device names its
 * backing file in `loop/backing_file`.
 */

export interface DeviceNumber {
  major: number;
  minor: number;
}

/** Linux's encoding of dev_t (glibc's gnu_dev_major / gnu_dev_minor). */
export function splitDeviceNumber(device: bigint): DeviceNumber {
  const major = Number(((device >> 8n) & 0xfffn) | ((device >> 32n) & ~0xfffn));
  const minor = Number((device & 0xffn) | ((device >> 12n) & ~0xffn));
  return { major, minor };
}

export async function readSysfs(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** A block device's sysfs folder, or null when the number names no block device. */
export async function sysfsFolder({ major, minor }: DeviceNumber): Promise<string | null> {
  try {
    return await realpath(`/sys/dev/block/${major}:${minor}`);
  } catch {
    return null;
  }
}

/** `cciss!c0d0` in sysfs is `/dev/cciss/c0d0`. */
export const devicePathOf = (folder: string) => `/dev/${path.basename(folder).replaceAll('!', '/')}`;

export async function isPartition(folder: string): Promise<boolean> {
  return (await readSysfs(path.join(folder, 'partition'))) !== null;
}

/** The drive's folder for a partition's, the folder itself for a drive. */
export async function wholeDiskFolder(folder: string): Promise<string> {
  return (await isPartition(folder)) ? path.dirname(folder) : folder;
}

/** The devices a stacked device (device-mapper, RAID) is built on, as sysfs folders. */
export async function slaveFolders(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path.join(folder, 'slaves'));
  } catch {
    return [];
  }
  const folders = await Promise.all(names.map((name) => realpath(path.join(folder, 'slaves', name)).catch(() => null)));
  return folders.filter((found): found is string => found !== null);
}

/** A loop device's backing file (without the kernel's ` (deleted)` mark), or null when it has none. */
export async function loopBackingFile(folder: string): Promise<string | null> {
  const file = await readSysfs(path.join(folder, 'loop', 'backing_file'));
  return file === null || file === '' ? null : file.replace(/ \(deleted\)$/, '');
}
