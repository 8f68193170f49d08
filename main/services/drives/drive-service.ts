import type { ClassifiedDrive } from '../../../shared/model/drive.js';
import { classifyDrive } from '../../../shared/rules/drive-safety.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Drive } from '../../../shared/model/drive.js';
import { driveContext, type TargetContext } from './drive-context.js';
import { describeLoop } from './loop-device.js';
import { readDrives } from './read-drives.js';
import { loopBackingFile } from './sysfs.js';

export { driveContext, type TargetContext } from './drive-context.js';
export { locatePath } from './locate-path.js';
export { describeDevice, resolveTarget } from './resolve-target.js';
export { unmountDrive, type UnmountReport } from './unmount-drive.js';

export interface ListOptions {
  /** Also list loop devices attached to a file (Linux): cards written as image files, for tests. */
  loopDevices?: boolean;
}

/** Loop devices attached to a file, in device order; one that detaches meanwhile is left out. */
async function attachedLoopDevices(): Promise<Drive[]> {
  if (process.platform !== 'linux') return [];
  const names = (await readdir('/sys/block').catch(() => [] as string[]))
    .filter((name) => /^loop\d+$/.test(name))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const found: Drive[] = [];
  for (const name of names) {
    const folder = path.join('/sys/block', name);
    if ((await loopBackingFile(folder)) === null) continue;
    const drive = await describeLoop(folder).catch(() => null);
    if (drive !== null) found.push(drive);
  }
  return found;
}

/** Every drive the OS lists, each with its verdict and reasons (hidden ones included). */
export async function listDrives(context: TargetContext = {}, options: ListOptions = {}): Promise<ClassifiedDrive[]> {
  const [drives, loops, located] = await Promise.all([
    readDrives(),
    options.loopDevices ? attachedLoopDevices() : Promise.resolve([]),
    driveContext(context),
  ]);
  return [...drives, ...loops].map((drive) => ({ ...drive, ...classifyDrive(drive, located) }));
}
