import type { ClassifiedDrive } from '../../../shared/model/drive.js';
import { classifyDrive } from '../../../shared/rules/drive-safety.js';
import { driveContext, type TargetContext } from './drive-context.js';
import { readDrives } from './read-drives.js';

export { driveContext, type TargetContext } from './drive-context.js';
export { locatePath } from './locate-path.js';
export { describeDevice, resolveTarget } from './resolve-target.js';
export { unmountDrive, type UnmountReport } from './unmount-drive.js';

/** Every drive the OS lists, each with its verdict and reasons (hidden ones included). */
export async function listDrives(context: TargetContext = {}): Promise<ClassifiedDrive[]> {
  const [drives, located] = await Promise.all([readDrives(), driveContext(context)]);
  return drives.map((drive) => ({ ...drive, ...classifyDrive(drive, located) }));
}
