import { assertDriveWritable } from '../../../shared/rules/drive-safety.js';
import type { DriveGuard } from '../build/run-build.js';
import { resolveTarget } from './resolve-target.js';
import { runTool } from './run-tool.js';
import { unmountDrive } from './unmount-drive.js';

/**
 * The drive rules as the writer applies them, whoever asked for the write: the drive is
 * resolved and classified here, never taken from a client's listing.
 */
export function driveGuard(): DriveGuard {
  return {
    async check(devicePath, { neededBytes, sources, cache, largeDriveConfirmed }) {
      const drive = await resolveTarget(devicePath, {
        neededBytes,
        source: sources,
        ...(cache !== undefined ? { cache } : {}),
      });
      assertDriveWritable(drive, { confirmedLarge: largeDriveConfirmed });
    },
    async unmount(devicePath) {
      const drive = await resolveTarget(devicePath);
      return (await unmountDrive(drive)).unmounted;
    },
    async reread(devicePath) {
      // The kernel keeps the old partitions until told: a disk re-reads its table with
      // BLKRRPART; a loop device without partition scanning takes them from partx.
      try {
        await runTool('blockdev', ['--rereadpt', devicePath]);
      } catch {
        await runTool('partx', ['--update', devicePath]).catch(() =>
          runTool('partx', ['--add', devicePath]).catch(() => ''),
        );
      }
    },
  };
}
