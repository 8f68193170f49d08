import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../../shared/errors.js';
import type { Drive } from '../../../shared/model/drive.js';
import { classifyDrive, driveText, driveTitle } from '../../../shared/rules/drive-safety.js';
import { describeDevice } from './resolve-target.js';
import { runTool, ToolFailure } from './run-tool.js';

export interface UnmountReport {
  device: string;
  /** The mountpoints that were unmounted, deepest first. */
  unmounted: string[];
}

/** A desktop's file manager or indexer may hold a fresh mount for a moment: try a few times. */
const ATTEMPTS = 4;
const PAUSE_MS = 300;

/** Deepest first, so that a mount inside another goes before it. */
const byDepth = (a: string, b: string) => b.split('/').length - a.split('/').length || b.length - a.length;

function mountpointsOf(drive: Drive): string[] {
  return [...new Set(drive.partitions.flatMap(({ mountpoints }) => mountpoints))].sort(byDepth);
}

async function unmountOne(mountpoint: string, device: string): Promise<void> {
  const shown = driveText(mountpoint, 120);
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runTool('umount', [mountpoint]);
      return;
    } catch (error) {
      if (!(error instanceof ToolFailure)) throw error;
      if (/not mounted|no mount point/i.test(error.stderr)) return;
      if (/busy/i.test(error.stderr) && attempt < ATTEMPTS) {
        await sleep(PAUSE_MS * attempt);
        continue;
      }
      const permission = /superuser|permission|not permitted/i.test(error.stderr);
      // "umount: /media/x: target is busy." -> "target is busy"
      const said = error.stderr
        .trim()
        .replace(/^umount: /, '')
        .replace(`${mountpoint}: `, '')
        .replace(/\.$/, '');
      throw new AppError('io', `could not unmount ${shown} (${driveText(device)}): ${driveText(said, 200)}`, {
        location: shown,
        hint: permission
          ? 'run apkovl as root (sudo), or unmount it yourself first'
          : `close what uses it (fuser -vm ${shown} lists the processes) and try again`,
        cause: error,
      });
    }
  }
}

/**
 * Unmount every mounted partition of the chosen drive (and what is stacked on them) before it is
 * written. The drive is read again first: it must still be the same drive (size and serial), and
 * a drive that holds the running system, swap in use or an LVM/LUKS/RAID device is refused,
 * whatever the caller thought. No lazy unmount: a detached file system stays alive while files
 * are open on it and may write to the card after we did; a busy mount is an error that says
 * how to find who holds it.
 */
export async function unmountDrive(drive: Drive): Promise<UnmountReport> {
  if (process.platform !== 'linux')
    throw new AppError('io', `unmounting drives is implemented for Linux only, not ${process.platform}`, {
      location: driveText(drive.device),
      hint: 'unmount (eject) the partitions of the drive yourself, then try again',
    });
  const current = await describeDevice(drive.device);
  if (current.size !== drive.size || current.serial !== drive.serial)
    throw new AppError(
      'invalid-input',
      `${driveTitle(current)} is not the drive that was chosen (${driveTitle(drive)})`,
      {
        location: driveText(drive.device),
        hint: 'the drive was changed since it was chosen: choose it again',
      },
    );
  const refusals = classifyDrive(current).reasons.filter(({ effect, code }) => effect === 'hide' || code === 'in-use');
  if (refusals.length > 0)
    throw new AppError(
      'invalid-input',
      `refusing to unmount ${driveTitle(current)}: it ${refusals.map(({ message }) => message).join('; it ')}`,
      { location: driveText(drive.device), hint: 'choose another drive: apkovl drives lists them' },
    );
  const unmounted: string[] = [];
  for (const mountpoint of mountpointsOf(current)) {
    await unmountOne(mountpoint, current.device);
    unmounted.push(mountpoint);
  }
  const left = mountpointsOf(await describeDevice(drive.device));
  if (left.length > 0)
    throw new AppError(
      'io',
      `${driveText(drive.device)} is still mounted at ${left.map((mountpoint) => driveText(mountpoint)).join(', ')}`,
      {
        location: driveText(drive.device),
        hint: 'something mounted it again (an automounter?): unmount it yourself, then try again',
      },
    );
  return { device: current.device, unmounted };
}
