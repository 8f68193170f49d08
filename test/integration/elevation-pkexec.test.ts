import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeWorkerExit,
  devWorkerCommand,
  deviceAccess,
  elevatedWorkerCommand,
  packagedWorkerCommand,
  type WorkerCommand,
} from '../../main/app/worker-command.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The elevation path on Linux, end to end except for polkit itself: a stand-in `pkexec` first on
 * PATH behaves as the real one does (checks `--disable-internal-agent` and an absolute program,
 * exits 126 when the dialog is dismissed, 127 with "No authentication agent found" or "Not
 * authorized", or clears the environment and execs the program), and the worker it starts is
 * the real one.
 */
const FAKE_PKEXEC = `#!/bin/sh
[ "$1" = "--disable-internal-agent" ] || { echo "fake pkexec: --disable-internal-agent must come first" >&2; exit 2; }
shift
case "$1" in /*) ;; *) echo "fake pkexec: not an absolute path: $1" >&2; exit 2 ;; esac
[ -r "$1" ] || { echo "pkexec: Cannot run program $1: No such file or directory" >&2; exit 127; }
echo "$1" >> "$FAKE_PKEXEC_LOG"
case "$FAKE_PKEXEC_MODE" in
  dismiss) echo "Error executing command as another user: Request dismissed" >&2; exit 126 ;;
  no-agent) echo "Error executing command as another user: No authentication agent found." >&2; exit 127 ;;
  not-authorized) printf 'Error executing command as another user: Not authorized\\n\\nThis incident has been reported.\\n' >&2; exit 127 ;;
esac
exec env -i PATH=/usr/bin:/bin "$@"
`;

let temp: ReturnType<typeof makeTempDir>;
let fakeBin: string;
let log: string;
let path_: string;

beforeAll(() => {
  temp = makeTempDir('apkovl-pkexec-');
  fakeBin = path.join(temp.dir, 'bin');
  mkdirSync(fakeBin);
  writeFileSync(path.join(fakeBin, 'pkexec'), FAKE_PKEXEC);
  chmodSync(path.join(fakeBin, 'pkexec'), 0o755);
  log = path.join(temp.dir, 'pkexec.log');
  path_ = `${fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
});
afterAll(() => temp.cleanup());

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  info: unknown;
}

/** Starts the command as the app would, asks app.info, then closes its input. */
function run(command: WorkerCommand, mode: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.command, command.args, {
      env: { ...process.env, ...command.env, PATH: path_, FAKE_PKEXEC_MODE: mode, FAKE_PKEXEC_LOG: log },
    });
    let stderr = '';
    let info: unknown = null;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { id?: unknown; envelope?: { value?: unknown } };
      if (message.id === 'info') {
        info = message.envelope?.value;
        child.stdin.end();
      }
    });
    child.stdin.on('error', () => undefined); // pkexec refused: nobody reads
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr, info }));
    child.stdin.write(`${JSON.stringify({ type: 'request', id: 'info', command: 'app.info', input: {} })}\n`);
  });
}

const linux = { elevated: true, platform: 'linux' as const };

describe('pkexec elevation (stand-in pkexec on PATH)', () => {
  it('device access is "prompt" for a user when pkexec is on PATH, "unavailable" without it', () => {
    expect(deviceAccess({ platform: 'linux', uid: 1000, env: { PATH: path_ } }).mode).toBe('prompt');
    expect(deviceAccess({ platform: 'linux', uid: 0, env: { PATH: path_ } }).mode).toBe('privileged');
    const none = deviceAccess({ platform: 'linux', uid: 1000, env: { PATH: path.join(temp.dir, 'nothing') } });
    expect(none.mode).toBe('unavailable');
    expect(none.detail).toMatch(/install/);
  });

  it('starts the worker through pkexec, which answers as root', async () => {
    const command = await elevatedWorkerCommand(devWorkerCommand(path.resolve('.')), {
      platform: 'linux',
      env: { PATH: path_ },
    });
    expect(command.command).toBe(path.join(fakeBin, 'pkexec'));
    const outcome = await run(command, 'allow');
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.info).toMatchObject({ name: 'apkovl-studio worker', deviceAccess: { mode: 'privileged' } });
  });

  it.each([
    ['dismiss', 'cancelled', /password prompt was closed/],
    ['no-agent', 'io', /no polkit authentication agent is running/],
    ['not-authorized', 'io', /not authorized/],
  ])('pkexec refusing (%s) becomes a message saying what to do', async (mode, code, message) => {
    const command = await elevatedWorkerCommand(devWorkerCommand(path.resolve('.')), {
      platform: 'linux',
      env: { PATH: path_ },
    });
    const outcome = await run(command, mode);
    expect(outcome.info).toBeNull();
    const error = describeWorkerExit({ code: outcome.code, signal: outcome.signal }, outcome.stderr, linux);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
  });

  it('from an AppImage: pkexec runs a root-readable copy of the packaged worker, removed at cleanup', async () => {
    // The packaged worker program, placed where an AppImage mount has it.
    const mount = path.join(temp.dir, '.mount_ApkovlStudio');
    const { buildWorker } = (await import(path.resolve('scripts/build-worker.mjs'))) as {
      buildWorker: (options: { out: string }) => Promise<unknown>;
    };
    await buildWorker({ out: path.join(mount, 'resources', 'worker') });
    const copies = path.join(temp.dir, 'copies');
    mkdirSync(copies);
    const command = await elevatedWorkerCommand(packagedWorkerCommand(path.join(mount, 'resources'), 'linux'), {
      platform: 'linux',
      env: { PATH: path_, APPIMAGE: path.join(temp.dir, 'Apkovl.AppImage'), APPDIR: mount },
      tempDir: copies,
    });
    writeFileSync(log, '');
    const outcome = await run(command, 'allow');
    expect(outcome.code).toBe(0);
    expect(outcome.info).toMatchObject({ name: 'apkovl-studio worker', deviceAccess: { mode: 'privileged' } });
    const started = readFileSync(log, 'utf8').trim();
    expect(path.dirname(path.dirname(started))).toBe(copies);
    expect(started.startsWith(mount)).toBe(false);
    await command.cleanup();
    expect(existsSync(path.dirname(started))).toBe(false);
  }, 120_000);
});
