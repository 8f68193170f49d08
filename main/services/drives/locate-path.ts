import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PathLocation } from '../../../shared/model/drive.js';
import { mountOf, readMounts } from './mount-table.js';
import {
  devicePathOf,
  loopBackingFile,
  slaveFolders,
  splitDeviceNumber,
  sysfsFolder,
  wholeDiskFolder,
} from './sysfs.js';

/** File systems that live in memory or on another machine: no drive holds them. */
const DRIVELESS = new Set([
  'tmpfs',
  'ramfs',
  'devtmpfs',
  'proc',
  'sysfs',
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  '9p',
  'virtiofs',
  'fuse.sshfs',
  'ceph',
  'glusterfs',
]);

/** Loop on a file on a loop on a file ...: deeper than this is not a real set-up. */
const MAX_DEPTH = 8;

type Found = { drives: string[] } | { none: string } | { unknown: string };

/** The path itself, or its nearest existing folder (an output file may not exist yet), resolved. */
async function nearestExisting(file: string): Promise<string> {
  let current = path.resolve(file);
  for (;;) {
    try {
      return await realpath(current);
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** The drives under one device's sysfs folder: through partitions, stacked devices and loop files. */
async function drivesOfFolder(folder: string, depth: number): Promise<Found> {
  const disk = await wholeDiskFolder(folder);
  const slaves = await slaveFolders(disk);
  if (slaves.length > 0) {
    const drives: string[] = [];
    for (const slave of slaves) {
      const found = await drivesOfFolder(slave, depth + 1);
      if (!('drives' in found)) return found;
      drives.push(...found.drives);
    }
    return { drives: [...new Set(drives)] };
  }
  const drive = devicePathOf(disk);
  const backing = await loopBackingFile(disk);
  if (backing === null) return { drives: [drive] };
  const below = await drivesOfFile(backing, depth + 1);
  return 'drives' in below
    ? { drives: [drive, ...below.drives.filter((other) => other !== drive)] }
    : { drives: [drive] };
}

async function drivesOfFile(file: string, depth: number): Promise<Found> {
  if (depth > MAX_DEPTH) return { unknown: 'too many loop devices or stacked devices in between' };
  const resolved = await nearestExisting(file);
  let device: bigint;
  try {
    device = (await stat(resolved, { bigint: true })).dev;
  } catch (error) {
    return { unknown: `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const number = splitDeviceNumber(device);
  if (number.major !== 0) {
    const folder = await sysfsFolder(number);
    if (folder !== null) return drivesOfFolder(folder, depth);
  }
  // No block device behind the number (tmpfs, overlay, btrfs, NFS): ask the mount table.
  const mount = mountOf(await readMounts().catch(() => []), resolved);
  if (mount === undefined) return { unknown: 'no mount holds it' };
  if (DRIVELESS.has(mount.filesystem)) return { none: mount.filesystem };
  if (mount.source.startsWith('/dev/')) {
    try {
      const source = splitDeviceNumber((await stat(mount.source, { bigint: true })).rdev);
      const folder = await sysfsFolder(source);
      if (folder !== null) return drivesOfFolder(folder, depth);
    } catch {
      // fall through: said below
    }
  }
  return { unknown: `it is on a ${mount.filesystem} file system from ${mount.source}` };
}

/**
 * Which drives hold a file or folder (the boot media, the cache, the output, which may not exist
 * yet: then its nearest existing folder counts), the nearest first. Partitions lead to their
 * drive, device-mapper and RAID devices to the drives they are built on, loop devices to
 * themselves and to the drive of their backing file. Never throws: what cannot be told is
 * `unknown`, with the reason.
 */
export async function locatePath(file: string): Promise<PathLocation> {
  const found = await drivesOfFile(file, 0);
  if ('drives' in found) return { kind: 'drives', path: file, drives: found.drives };
  if ('none' in found) return { kind: 'none', path: file, filesystem: found.none };
  return { kind: 'unknown', path: file, reason: found.unknown };
}
