import { pathLookupFor, type PathLookup } from './path-lookup.js';

/** What `app.info` reports as `deviceAccess` (shared/ipc/contract.ts). */
export interface DeviceAccess {
  mode: 'privileged' | 'prompt' | 'unavailable';
  detail: string | null;
}

export interface DeviceAccessOptions {
  platform: NodeJS.Platform;
  /** process.getuid?.(); undefined on Windows. */
  uid: number | undefined;
  env: Record<string, string | undefined>;
  /** Finds a program; a look-up over env.PATH by default. */
  pathLookup?: PathLookup;
}

export const SUDO_HINT = 'or write the card from a terminal: sudo apkovl build --device /dev/sdX definition.yml';

/**
 * How the app gets the right to read and write drives: it has it already (root), it asks for it
 * on the first device operation (pkexec, the macOS administrator prompt, UAC), or it cannot
 * (with what to do). Looks only; it starts nothing.
 */
export function deviceAccess(options: DeviceAccessOptions): DeviceAccess {
  const lookup = options.pathLookup ?? pathLookupFor(options.env, options.platform);
  if (options.platform === 'win32') {
    return { mode: 'prompt', detail: 'Windows asks for administrator rights (UAC) before the first drive is written' };
  }
  if (options.uid === 0) return { mode: 'privileged', detail: null };
  if (options.platform === 'darwin') {
    return lookup('osascript') === null
      ? {
          mode: 'unavailable',
          detail: `osascript was not found, so the app cannot ask for administrator rights; ${SUDO_HINT}`,
        }
      : { mode: 'prompt', detail: 'macOS asks for an administrator password before the first drive is written' };
  }
  if (options.platform === 'linux') {
    return lookup('pkexec') === null
      ? {
          mode: 'unavailable',
          detail: `pkexec (polkit) is not installed, so the app cannot ask for an administrator password: install it (Debian/Ubuntu: apt install pkexec or policykit-1; Fedora: polkit), ${SUDO_HINT}`,
        }
      : {
          mode: 'prompt',
          detail: 'your desktop asks for an administrator password (polkit) before the first drive is written',
        };
  }
  return {
    mode: 'unavailable',
    detail: `writing drives from the app is not supported on ${options.platform}; ${SUDO_HINT}`,
  };
}
