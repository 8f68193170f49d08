import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { DeviceIdentity } from '../../../shared/model/device-identity.js';

/**
 * A block device's identity as Linux describes it in sysfs (`/sys/dev/block/<major>:<minor>`):
 * size, logical block size, model, serial, disk sequence number. Read when the user confirms a
 * device, and again on the open file descriptor right before the first write.
 */

const SYSFS_BLOCK = '/sys/dev/block';

/** The device number a stat's `rdev` encodes (glibc's `gnu_dev_major` and `gnu_dev_minor`). */
export function splitDeviceNumber(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

async function readText(file: string): Promise<string | null> {
  try {
    const text = (await fs.readFile(file, 'utf8')).trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

async function readNumber(file: string): Promise<number | null> {
  const text = await readText(file);
  return text === null || !/^\d+$/.test(text) ? null : Number(text);
}

/** Devices are read through sysfs and opened with Linux's flags: other systems are refused. */
export function assertLinux(devicePath: string): void {
  if (process.platform === 'linux') return;
  throw new AppError('io', `writing devices directly is supported on Linux only for now, not on ${process.platform}`, {
    location: devicePath,
    hint: 'write an image file with --output and flash it with Etcher or Raspberry Pi Imager',
  });
}

/** The identity of the block device at `devicePath` (a whole disk, not a partition). */
export async function readDeviceIdentity(devicePath: string): Promise<DeviceIdentity> {
  assertLinux(devicePath);
  const stat = await fs.stat(devicePath, { bigint: true }).catch((error: unknown) => {
    throw new AppError('not-found', `${devicePath} does not exist: ${(error as Error).message}`, {
      location: devicePath,
      hint: 'check the device name (apkovl drives lists them); the card or stick may have been removed',
      cause: error,
    });
  });
  if (!stat.isBlockDevice()) {
    throw new AppError('invalid-input', `${devicePath} is not a block device`, {
      location: devicePath,
      hint: 'name a whole disk such as /dev/sdb or /dev/mmcblk0; image files are written with --output',
    });
  }
  return identityOfDeviceNumber(devicePath, splitDeviceNumber(stat.rdev));
}

/** The identity of the device numbered `deviceNumber` (`major:minor`), reached as `devicePath`. */
export async function identityOfDeviceNumber(devicePath: string, deviceNumber: string): Promise<DeviceIdentity> {
  const directory = await fs.realpath(path.join(SYSFS_BLOCK, deviceNumber)).catch((error: unknown) => {
    throw new AppError('not-found', `the kernel has no block device ${deviceNumber} for ${devicePath}`, {
      location: devicePath,
      hint: 'the card or stick may have been removed',
      cause: error,
    });
  });
  const name = path.basename(directory);
  if ((await readText(path.join(directory, 'partition'))) !== null) {
    const parent = path.basename(path.dirname(directory));
    throw new AppError('invalid-input', `${devicePath} is a partition of /dev/${parent}, not a whole device`, {
      location: devicePath,
      hint: `name the whole device: /dev/${parent}`,
    });
  }
  const sectors = await readNumber(path.join(directory, 'size'));
  const logicalBlockSize = await readNumber(path.join(directory, 'queue', 'logical_block_size'));
  if (sectors === null || logicalBlockSize === null) {
    throw new AppError('io', `cannot read the size of ${devicePath} from ${directory}`, { location: devicePath });
  }
  return {
    path: devicePath,
    name,
    deviceNumber,
    // sysfs counts in 512-byte units whatever the device's own block size.
    size: sectors * 512,
    logicalBlockSize,
    model: await readModel(directory, name),
    serial: await readSerial(directory),
    diskSequence: await readNumber(path.join(directory, 'diskseq')),
    readOnly: (await readText(path.join(directory, 'ro'))) === '1',
    removable: (await readText(path.join(directory, 'removable'))) === '1',
  };
}

async function readModel(directory: string, name: string): Promise<string | null> {
  if (name.startsWith('loop')) return 'loop device';
  const device = path.join(directory, 'device');
  // MMC and SD cards name themselves in `name`; SCSI, USB and NVMe disks in `vendor` and `model`.
  const parts = [
    await readText(path.join(device, 'vendor')),
    (await readText(path.join(device, 'model'))) ?? (await readText(path.join(device, 'name'))),
  ].filter((part): part is string => part !== null);
  return parts.length === 0 ? null : parts.join(' ').replace(/\s+/g, ' ');
}

/**
 * What tells this medium from another one at the same path: a loop device's backing file, an
 * SD card's CID (unique per card), a disk's serial number, or the serial of the USB device it
 * belongs to (for a card in a USB reader that is the reader's: the disk sequence number is what
 * changes with the card).
 */
async function readSerial(directory: string): Promise<string | null> {
  const backingFile = await readText(path.join(directory, 'loop', 'backing_file'));
  if (backingFile !== null) return backingFile;
  const device = path.join(directory, 'device');
  for (const file of ['cid', 'serial', 'wwid']) {
    const value = await readText(path.join(device, file));
    if (value !== null) return value;
  }
  let ancestor = await fs.realpath(device).catch(() => null);
  while (ancestor !== null && ancestor.startsWith('/sys/devices/') && ancestor !== '/sys/devices') {
    if ((await readText(path.join(ancestor, 'idVendor'))) !== null) {
      return readText(path.join(ancestor, 'serial'));
    }
    ancestor = path.dirname(ancestor);
  }
  return null;
}
