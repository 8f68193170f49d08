import {
  deviceAccess,
  describeWorkerExit,
  devWorkerCommand,
  elevatedWorkerCommand,
  elevationTimeoutError,
  ELEVATION_PROMPT_TIMEOUT_SECONDS,
  packagedWorkerCommand,
  type PathLookup,
  type WorkerCommand,
} from './worker-command.js';
import type { AppHandlersOptions } from './app-handlers.js';

export interface AppSetupOptions {
  /** app.isPackaged: the packages ship the standalone worker program in resources/worker/. */
  packaged: boolean;
  /** process.resourcesPath (packaged) */
  resourcesPath: string;
  /** app.getAppPath() (development: dist/cli/apkovl.mjs under it) */
  appRoot: string;
  platform: NodeJS.Platform;
  uid: number | undefined;
  env: Record<string, string | undefined>;
  /** Where elevation prepares its files (AppImage copy, FIFOs); os.tmpdir() by default. */
  tempDir?: string;
  pathLookup?: PathLookup;
}

/**
 * How the app's main process starts its workers, decided once at start-up (Electron-free, so
 * that it is tested in Node): the unprivileged worker (development: Node + the CLI bundle;
 * packages: the standalone worker program), whether device operations need a prompt, and the
 * elevated worker with its messages for a dismissed prompt, a missing polkit agent or a prompt
 * nobody answers.
 */
export function workerSetup(
  options: AppSetupOptions,
): Pick<
  AppHandlersOptions,
  'deviceAccess' | 'worker' | 'elevated' | 'describeExit' | 'describeElevatedExit' | 'elevatedStartTimeout'
> {
  const { platform, env } = options;
  const base = (): WorkerCommand =>
    options.packaged
      ? packagedWorkerCommand(options.resourcesPath, platform)
      : devWorkerCommand(options.appRoot, { env, platform });
  const access = deviceAccess({
    platform,
    uid: options.uid,
    env,
    ...(options.pathLookup ? { pathLookup: options.pathLookup } : {}),
  });
  return {
    deviceAccess: access,
    worker: base,
    ...(access.mode === 'prompt'
      ? {
          elevated: () =>
            elevatedWorkerCommand(base(), {
              platform,
              env,
              ...(options.tempDir !== undefined ? { tempDir: options.tempDir } : {}),
              ...(options.pathLookup ? { pathLookup: options.pathLookup } : {}),
            }),
        }
      : {}),
    describeExit: (exit, stderr) => describeWorkerExit(exit, stderr, { elevated: false, platform }),
    describeElevatedExit: (exit, stderr) => describeWorkerExit(exit, stderr, { elevated: true, platform }),
    elevatedStartTimeout: {
      ms: ELEVATION_PROMPT_TIMEOUT_SECONDS * 1000,
      error: () => elevationTimeoutError(platform, ELEVATION_PROMPT_TIMEOUT_SECONDS),
    },
  };
}
