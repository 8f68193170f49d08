import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { ClassifiedDrive, Drive } from '../../../shared/model/drive.js';
import { classifyDrive, driveText } from '../../../shared/rules/drive-safety.js';
import { driveContext, type TargetContext } from './drive-context.js';
import { describeLoop } from './loop-device.js';
import { readDrives } from './read-drives.js';
import { devicePathOf, isPartition, splitDeviceNumber, sysfsFolder } from './sysfs.js';

const LIST_HINT = 'apkovl drives lists the drives; for a loop device, losetup -f --show card.img prints one';

/** What kind of block device a sysfs name is, for a refusal. */
function kindOf(name: string): string {
  if (name.startsWith('dm-')) return 'a device-mapper device (LVM, LUKS)';
  if (name.startsWith('md')) return 'a software RAID array';
  if (name.startsWith('sr')) return 'an optical drive';
  if (name.startsWith('nbd')) return 'a network block device';
  return 'not a drive apkovl knows';
}

async function blockDevice(devicePath: string): Promise<bigint> {
  const shown = driveText(devicePath);
  let stats;
  try {
    stats = await stat(devicePath, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new AppError('not-found', `${shown} does not exist`, { location: shown, hint: LIST_HINT });
    throw new AppError('io', `cannot read ${shown} (${code ?? String(error)})`, { location: shown, cause: error });
  }
  if (stats.isFile())
    throw new AppError('invalid-input', `${shown} is a regular file, not a drive`, {
      location: shown,
      hint: 'to write a card image into a file, use --output instead of --device',
    });
  if (!stats.isBlockDevice())
    throw new AppError('invalid-input', `${shown} is ${stats.isDirectory() ? 'a folder' : 'not a block device'}`, {
      location: shown,
      hint: LIST_HINT,
    });
  return stats.rdev;
}

/** The drive behind an explicitly named device path on Linux: a listed drive or a loop device. */
async function describeLinuxDevice(devicePath: string): Promise<Drive> {
  const shown = driveText(devicePath);
  const folder = await sysfsFolder(splitDeviceNumber(await blockDevice(devicePath)));
  if (folder === null)
    throw new AppError('invalid-input', `${shown} is a block device the kernel does not describe in /sys`, {
      location: shown,
      hint: LIST_HINT,
    });
  if (await isPartition(folder)) {
    const drive = driveText(devicePathOf(path.dirname(folder)));
    throw new AppError('invalid-input', `${shown} is a partition of ${drive}, not a whole drive`, {
      location: shown,
      hint: `name the whole drive (${drive}): the card gets a new partition table`,
    });
  }
  const name = path.basename(folder);
  if (/^loop\d+$/.test(name)) return describeLoop(folder);
  const device = devicePathOf(folder);
  const found = (await readDrives()).find((drive) => drive.device === device);
  if (found === undefined)
    throw new AppError('invalid-input', `${shown} (${driveText(name)}) is ${kindOf(name)}, not a drive to write`, {
      location: shown,
      hint: LIST_HINT,
    });
  return found;
}

/** The drive at a device path as it is now (a listed drive or a loop device), unclassified. */
export async function describeDevice(devicePath: string): Promise<Drive> {
  if (process.platform === 'linux') return describeLinuxDevice(devicePath);
  const found = (await readDrives()).find((drive) => drive.device === devicePath);
  if (found === undefined)
    throw new AppError('not-found', `${driveText(devicePath)} is not among the drives`, {
      location: driveText(devicePath),
      hint: 'apkovl drives lists the drives',
    });
  return found;
}

/**
 * An explicitly named device (`/dev/sdb`, `/dev/disk/by-id/...`, `/dev/loop3`) with its verdict.
 * Throws for anything that is not a whole block device (a partition, a regular file, a missing
 * path, a device-mapper device); a drive the rules refuse is returned with status `refused` or
 * `hidden`, for the caller to show (`assertDriveWritable` turns it into an error).
 */
export async function resolveTarget(devicePath: string, context: TargetContext = {}): Promise<ClassifiedDrive> {
  const drive = await describeDevice(devicePath);
  return { ...drive, ...classifyDrive(drive, await driveContext(context)) };
}
