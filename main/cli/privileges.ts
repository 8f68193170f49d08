import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { AppError } from '../../shared/errors.js';
import { displayText } from '../../shared/rules/display.js';

/** One argument as a POSIX shell reads it back: quoted only where needed. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, "'\\''")}'`;
}

/** The command line that was run, with `sudo` in front: what to type instead. */
export function elevatedCommand(args: readonly string[]): string {
  return ['sudo', 'apkovl', ...args].map(shellQuote).join(' ');
}

/**
 * Writing a drive needs the right to open it for writing: root, or a group (disk) that may. A
 * user without it gets the exact command to run, before anything else happens.
 */
export async function requireDeviceAccess(
  device: string,
  args: readonly string[] = process.argv.slice(2),
): Promise<void> {
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return; // a missing device is reported with the drive
    throw new AppError('io', `this user may not write ${displayText(device)}: writing a drive needs root`, {
      location: device,
      hint: `run: ${displayText(elevatedCommand(args))}`,
      cause: error,
    });
  }
}
