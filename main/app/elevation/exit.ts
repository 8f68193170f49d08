import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { SUDO_HINT } from './access.js';

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerExitOptions {
  elevated: boolean;
  platform: NodeJS.Platform;
}

/** pkexec: the authentication dialog was dismissed. */
const PKEXEC_DISMISSED = 126;
/** pkexec: not authorized, no agent, or an error; the stderr line says which. */
const PKEXEC_FAILED = 127;
/** Windows ERROR_CANCELLED: the UAC prompt was declined (the bridge exits with it). */
const WINDOWS_CANCELLED = 1223;

/**
 * Why a worker ended before it should have, as a message a person can act on. `stderr` is what
 * the worker (or pkexec, osascript, the UAC bridge) wrote; its last lines go into the message.
 * The caller decides that the exit was unexpected (a worker ends normally only when the app
 * closes its input).
 */
export function describeWorkerExit(exit: WorkerExit, stderr: string, options: WorkerExitOptions): AppError {
  if (options.elevated) {
    const known = elevationFailure(exit, stderr, options.platform);
    if (known !== null) return known;
  }
  const what = options.elevated ? 'the administrator worker' : 'the worker';
  const how = exit.signal !== null ? `was stopped by ${exit.signal}` : `ended with status ${String(exit.code)}`;
  const tail = lastLines(stderr);
  return new AppError('io', `${what} ${how}${tail === '' ? '' : `: ${tail}`}`, {
    hint:
      exit.signal === 'SIGKILL'
        ? 'the system may have run out of memory; close other programs and try again'
        : 'try again; if it happens again, run the same step with the apkovl command line, which shows the whole error',
  });
}

function elevationFailure(exit: WorkerExit, stderr: string, platform: NodeJS.Platform): AppError | null {
  if (platform === 'linux') {
    if (exit.code === PKEXEC_DISMISSED) {
      return new AppError('cancelled', 'the administrator password prompt was closed: no drive was touched', {
        hint: 'to write the card, start again and enter an administrator password when asked',
      });
    }
    if (exit.code === PKEXEC_FAILED && /No authentication agent found/i.test(stderr)) {
      return new AppError('io', 'no polkit authentication agent is running, so nothing can ask for the password', {
        hint: `start your desktop's polkit agent (GNOME and KDE have one; on other desktops install and autostart one, such as lxpolkit, polkit-gnome or mate-polkit) and try again, ${SUDO_HINT}`,
      });
    }
    if (exit.code === PKEXEC_FAILED && /Not authorized|not authorised/i.test(stderr)) {
      return new AppError('io', 'polkit did not allow this user to write drives (not authorized)', {
        hint: `ask an administrator, or enter an administrator's password when asked, ${SUDO_HINT}`,
      });
    }
    if (exit.code === PKEXEC_FAILED && /pkexec/i.test(stderr)) {
      return new AppError('io', `pkexec could not start the administrator worker: ${lastLines(stderr)}`, {
        hint: `check that the app is installed completely, ${SUDO_HINT}`,
      });
    }
  }
  if (platform === 'darwin' && /User cancell?ed|\(-128\)/.test(stderr)) {
    return new AppError('cancelled', 'the administrator password prompt was cancelled: no drive was touched', {
      hint: 'to write the card, start again and enter an administrator password when asked',
    });
  }
  if (platform === 'win32' && exit.code === WINDOWS_CANCELLED) {
    return new AppError('cancelled', 'the administrator prompt (UAC) was declined: no drive was touched', {
      hint: 'to write the card, start again and choose Yes when Windows asks',
    });
  }
  return null;
}

/** The prompt was not answered in time (the worker never said it was ready). */
export function elevationTimeoutError(platform: NodeJS.Platform, seconds: number): AppError {
  const prompt =
    platform === 'win32'
      ? 'the UAC prompt'
      : platform === 'darwin'
        ? 'the password prompt'
        : 'the polkit password prompt';
  return new AppError('io', `no answer from ${prompt} within ${seconds} s: no drive was touched`, {
    hint:
      platform === 'linux'
        ? `look for a password window (it may be behind this one); if none appears, no polkit agent may be running: start one and try again, ${SUDO_HINT}`
        : `look for the prompt (it may be behind this window) and try again, ${SUDO_HINT}`,
  });
}

/** The last few non-empty lines of stderr, cleaned for display. */
function lastLines(stderr: string, count = 3): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return displayText(lines.slice(-count).join(' | ')).slice(0, 500);
}
