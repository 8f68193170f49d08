import { chmod, cp, lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { ElevatedWorkerCommand, WorkerCommand } from './types.js';

/** The polkit action shipped in the Linux packages (packaging/linux/<id>.policy). */
export const POLKIT_ACTION_ID = 'org.apkovlstudio.worker';

/**
 * `pkexec --disable-internal-agent <worker> <args>`. The desktop's polkit agent asks for the
 * password (never a text prompt on a terminal the app does not have). pkexec clears the
 * environment and matches the program's absolute path against the shipped action's
 * `org.freedesktop.policykit.exec.path`; any other path falls back to polkit's generic
 * `org.freedesktop.policykit.exec` action, which also asks for an administrator. `env` cannot
 * cross pkexec and is dropped.
 */
export function pkexecCommand(pkexec: string, base: WorkerCommand): WorkerCommand {
  if (!path.isAbsolute(base.command)) {
    throw new AppError('internal', `the worker must be started by its absolute path for pkexec, not ${base.command}`);
  }
  return { command: pkexec, args: ['--disable-internal-agent', base.command, ...base.args], env: {} };
}

/** Started from an AppImage: its files live on the user's FUSE mount, which root cannot read. */
export function isAppImage(env: Record<string, string | undefined>): boolean {
  return Boolean(env.APPIMAGE) || Boolean(env.APPDIR);
}

/** The worker lies inside the AppImage's mount (APPDIR), or APPDIR is unknown but APPIMAGE is set. */
export function runsFromAppImage(program: string, env: Record<string, string | undefined>): boolean {
  if (!isAppImage(env)) return false;
  if (!env.APPDIR) return true;
  const relative = path.relative(env.APPDIR, program);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

export interface ReadableCopy {
  /** The private folder (0700) that holds the copy. */
  directory: string;
  /** The worker program inside it. */
  command: string;
  cleanup: () => Promise<void>;
}

/**
 * Copies the folder that holds the worker program (the binary, its node_modules and package.json)
 * to a fresh private folder that root can read: mkdtemp (0700, owned by this user, so no other
 * user can swap a file in), folders 0700, files 0500. The copy is elevated instead of the
 * original, and removed by `cleanup` (at quit).
 */
export async function copyWorkerForRoot(workerProgram: string, tempDir: string = tmpdir()): Promise<ReadableCopy> {
  const source = path.dirname(workerProgram);
  const directory = await mkdtemp(path.join(tempDir, COPY_PREFIX));
  const cleanup = () => rm(directory, { recursive: true, force: true }).catch(() => undefined);
  try {
    await chmod(directory, 0o700);
    await cp(source, directory, { recursive: true, dereference: true, preserveTimestamps: false });
    await writeFile(path.join(directory, OWNER_FILE), `${process.pid}\n`);
    await lockDown(directory);
  } catch (error) {
    await cleanup();
    throw new AppError('io', `could not copy the worker program out of the AppImage into ${directory}`, {
      location: source,
      hint: 'make sure the temporary folder (TMPDIR) has room for about 120 MB and try again',
      cause: error,
    });
  }
  return { directory, command: path.join(directory, path.basename(workerProgram)), cleanup };
}

const COPY_PREFIX = 'apkovl-worker-';
/** In each copy: the pid of the app that made it, so that a later start can remove leftovers. */
const OWNER_FILE = '.apkovl-owner';

/**
 * Removes copies that an app which has since ended (crashed, killed) left behind: folders named
 * like ours, owned by this user, whose owner pid is no longer running. Returns what it removed.
 */
export async function removeStaleWorkerCopies(tempDir: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = await readdir(tempDir);
  } catch {
    return removed;
  }
  for (const entry of entries.filter((name) => name.startsWith(COPY_PREFIX))) {
    const directory = path.join(tempDir, entry);
    try {
      const info = await lstat(directory);
      if (!info.isDirectory() || info.uid !== process.getuid?.()) continue;
      const owner = Number.parseInt(await readFile(path.join(directory, OWNER_FILE), 'utf8'), 10);
      if (!Number.isSafeInteger(owner) || owner <= 0 || isRunning(owner)) continue;
      await rm(directory, { recursive: true, force: true });
      removed.push(directory);
    } catch {
      // not one of ours, or gone meanwhile
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockDown(directory: string): Promise<void> {
  for (const entry of await readdir(directory)) {
    const file = path.join(directory, entry);
    const info = await lstat(file);
    if (info.isDirectory()) {
      await lockDown(file);
      await chmod(file, 0o700);
    } else if (info.isFile()) {
      await chmod(file, 0o500);
    } else {
      await rm(file, { force: true }); // dereferenced above; anything else has no place here
    }
  }
}

export interface LinuxElevationOptions {
  pkexec: string;
  env: Record<string, string | undefined>;
  tempDir?: string;
}

export async function linuxElevatedCommand(
  base: WorkerCommand,
  options: LinuxElevationOptions,
): Promise<ElevatedWorkerCommand> {
  if (!runsFromAppImage(base.command, options.env)) {
    return {
      ...pkexecCommand(options.pkexec, base),
      elevated: true,
      method: 'pkexec',
      cleanup: () => Promise.resolve(),
    };
  }
  const copy = await copyWorkerForRoot(base.command, options.tempDir);
  return {
    ...pkexecCommand(options.pkexec, { ...base, command: copy.command }),
    elevated: true,
    method: 'pkexec',
    cleanup: copy.cleanup,
  };
}
