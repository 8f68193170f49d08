import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../../../shared/errors.js';
import { shellCommand, shellQuote } from './shell-quote.js';
import type { ElevatedWorkerCommand, WorkerCommand } from './types.js';

/*
 * macOS: UNTESTED HERE (the project's CI is Linux). Follows the documented behaviour of osascript.
 *
 * The administrator prompt is AppleScript's `do shell script ... with administrator privileges`.
 * Its shell's stdin is not the caller's and its output comes back only when it ends, so the
 * worker's stdio is bridged through three FIFOs in a private folder (mkdtemp, 0700; FIFOs 0600):
 * no socket and no port, and only this user and root can open them. The command the app spawns is
 * a small /bin/sh bridge (BRIDGE below) that starts osascript, copies its own stdin into `in`
 * and `out`/`err` to its stdout/stderr, and exits with osascript's status (1 and "User canceled.
 * (-128)" when the prompt is dismissed). The elevated side is
 *   VAR=value exec '<worker>' worker <in >out 2>err
 * handed to AppleScript as an argument (`item 1 of argv`), so nothing is quoted for AppleScript.
 */
const BRIDGE = `
dir=$1
exec 3<&0
osascript -e 'on run argv' -e 'do shell script (item 1 of argv) with administrator privileges' -e 'end run' "$2" >/dev/null 2>"$dir/prompt.log" &
prompt=$!
cat "$dir/out" &
out=$!
cat "$dir/err" >&2 &
err=$!
cat <&3 >"$dir/in" &
in=$!
exec 3<&-
wait "$prompt"
status=$?
kill "$in" 2>/dev/null
sleep 1
kill "$out" "$err" 2>/dev/null
cat "$dir/prompt.log" >&2
exit "$status"
`;

export interface MacElevationOptions {
  tempDir?: string;
  /** Makes the FIFOs; `mkfifo -m 600` by default. */
  makeFifos?: (files: string[]) => Promise<void>;
}

const defaultMakeFifos = async (files: string[]): Promise<void> => {
  await promisify(execFile)('mkfifo', ['-m', '600', ...files]);
};

export async function macElevatedCommand(
  base: WorkerCommand,
  options: MacElevationOptions = {},
): Promise<ElevatedWorkerCommand> {
  if (!path.isAbsolute(base.command)) {
    throw new AppError('internal', `the worker must be started by its absolute path, not ${base.command}`);
  }
  const directory = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'apkovl-elevate-'));
  const cleanup = () => rm(directory, { recursive: true, force: true }).catch(() => undefined);
  const fifo = (name: string) => path.join(directory, name);
  try {
    await (options.makeFifos ?? defaultMakeFifos)(['in', 'out', 'err'].map(fifo));
  } catch (error) {
    await cleanup();
    throw new AppError('io', 'could not prepare the pipes to the administrator worker', {
      location: directory,
      hint: 'check that the temporary folder is writable and try again',
      cause: error,
    });
  }
  const redirections = `<${shellQuote(fifo('in'))} >${shellQuote(fifo('out'))} 2>${shellQuote(fifo('err'))}`;
  const elevated = `${shellCommand(base.command, base.args, base.env, { exec: true })} ${redirections}`;
  return {
    command: '/bin/sh',
    args: ['-c', BRIDGE, 'apkovl-elevate', directory, elevated],
    env: {},
    elevated: true,
    method: 'osascript',
    cleanup,
  };
}
