import path from 'node:path';
import { AppError } from '../../shared/errors.js';
import { deviceAccess, SUDO_HINT, type DeviceAccess, type DeviceAccessOptions } from './elevation/access.js';
import {
  describeWorkerExit,
  elevationTimeoutError,
  type WorkerExit,
  type WorkerExitOptions,
} from './elevation/exit.js';
import { linuxElevatedCommand, removeStaleWorkerCopies } from './elevation/linux.js';
import { macElevatedCommand } from './elevation/macos.js';
import { pathLookupFor, type PathLookup } from './elevation/path-lookup.js';
import type { ElevatedWorkerCommand, WorkerCommand } from './elevation/types.js';
import { windowsElevatedCommand } from './elevation/windows.js';

/*
 * How the app starts `apkovl worker` (main/cli/worker.ts: the IPC contract as JSON lines on
 * stdio, no socket, no port): unprivileged for jobs, elevated on the first device operation.
 * Electron-free, so that it is tested in Node. Linux is tested here; macOS (osascript) and Windows
 * (UAC) are built to their documentation and are UNTESTED on this project's CI.
 */
export type { DeviceAccess, DeviceAccessOptions, ElevatedWorkerCommand, PathLookup, WorkerCommand, WorkerExit };
export type { WorkerExitOptions };
export { describeWorkerExit, deviceAccess, elevationTimeoutError };
/** At start-up (Linux): removes AppImage worker copies left by an app that crashed. */
export { removeStaleWorkerCopies };

/**
 * How long to wait for the elevated worker's first answer (the prompt is open meanwhile) before
 * giving up with `elevationTimeoutError`: long enough to find and type a password.
 */
export const ELEVATION_PROMPT_TIMEOUT_SECONDS = 180;

/**
 * Development (`npm start`): Node runs the CLI bundle. The Node program is APKOVL_NODE or `node`
 * found on PATH, as an absolute path (pkexec needs one). Not Electron's own binary: the packaged
 * app has RunAsNode off, and development should start workers the same way.
 */
export function devWorkerCommand(
  appRoot: string,
  options: { env?: Record<string, string | undefined>; platform?: NodeJS.Platform } = {},
): WorkerCommand {
  const env = options.env ?? process.env;
  const wanted = env.APKOVL_NODE ?? 'node';
  const node = pathLookupFor(env, options.platform ?? process.platform)(wanted);
  if (node === null) {
    throw new AppError('not-found', `Node (${wanted}) was not found to run the worker`, {
      location: 'APKOVL_NODE',
      hint: 'install Node 20 or newer, or set APKOVL_NODE to the path of a node program',
    });
  }
  return { command: node, args: [path.join(path.resolve(appRoot), 'dist', 'cli', 'apkovl.mjs'), 'worker'], env: {} };
}

/** Where the packages put the worker program: <resources>/worker/ (electron-builder extraResources). */
export function packagedWorkerProgram(resourcesPath: string, platform: NodeJS.Platform): string {
  const paths = platform === 'win32' ? path.win32 : path.posix;
  return paths.join(resourcesPath, 'worker', platform === 'win32' ? 'apkovl.exe' : 'apkovl');
}

/**
 * The packaged app: the standalone worker program (scripts/build-worker.mjs) that the packages
 * ship in resources/worker/, beside its node_modules.
 */
export function packagedWorkerCommand(resourcesPath: string, platform: NodeJS.Platform): WorkerCommand {
  return { command: packagedWorkerProgram(resourcesPath, platform), args: ['worker'], env: {} };
}

export interface ElevationOptions {
  platform: NodeJS.Platform;
  /** The app's environment: PATH for finding pkexec, APPIMAGE/APPDIR, SystemRoot. */
  env: Record<string, string | undefined>;
  /** Where the AppImage copy (Linux) or the FIFOs (macOS) go; os.tmpdir() by default. */
  tempDir?: string;
  pathLookup?: PathLookup;
}

/**
 * The same worker, started with administrator rights (see elevation/*.ts for each platform).
 * Throws an AppError with what to do when this machine has no way to ask (no pkexec). Call
 * `cleanup()` of the result when the worker has ended or at quit.
 */
export async function elevatedWorkerCommand(
  base: WorkerCommand,
  options: ElevationOptions,
): Promise<ElevatedWorkerCommand> {
  const lookup = options.pathLookup ?? pathLookupFor(options.env, options.platform);
  switch (options.platform) {
    case 'linux': {
      const pkexec = lookup('pkexec');
      if (pkexec === null) {
        throw new AppError(
          'not-found',
          'pkexec (polkit) is not installed, so the app cannot ask for an administrator password',
          {
            hint: `install it (Debian/Ubuntu: apt install pkexec or policykit-1; Fedora: polkit) and try again, ${SUDO_HINT}`,
          },
        );
      }
      return linuxElevatedCommand(base, { pkexec, env: options.env, tempDir: options.tempDir });
    }
    case 'darwin':
      return macElevatedCommand(base, { tempDir: options.tempDir });
    case 'win32':
      return windowsElevatedCommand(base, { env: options.env });
    default:
      throw new AppError('invalid-input', `writing drives from the app is not supported on ${options.platform}`, {
        hint: SUDO_HINT.replace(/^or /, ''),
      });
  }
}
