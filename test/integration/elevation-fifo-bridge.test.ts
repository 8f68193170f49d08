import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeWorkerExit,
  devWorkerCommand,
  elevatedWorkerCommand,
  type ElevatedWorkerCommand,
} from '../../main/app/worker-command.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The macOS bridge (stdio over FIFOs in a private folder, no socket) run for real with a
 * stand-in `osascript` that does what `do shell script` does: runs its argument with /bin/sh (or
 * fails as a dismissed prompt does). What it cannot show: the real macOS prompt. macOS itself
 * is untested here.
 */
const FAKE_OSASCRIPT = `#!/bin/sh
for last; do :; done
if [ "$FAKE_OSASCRIPT_MODE" = cancel ]; then echo "0:93: execution error: User canceled. (-128)" >&2; exit 1; fi
exec /bin/sh -c "$last"
`;

let temp: ReturnType<typeof makeTempDir>;
let pathWithFake: string;
let fifoRoot: string;

beforeAll(() => {
  temp = makeTempDir('apkovl-fifo-');
  const bin = path.join(temp.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'osascript'), FAKE_OSASCRIPT);
  chmodSync(path.join(bin, 'osascript'), 0o755);
  pathWithFake = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  fifoRoot = path.join(temp.dir, 'fifos');
  mkdirSync(fifoRoot);
});
afterAll(() => temp.cleanup());

function run(command: ElevatedWorkerCommand, mode: string) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; answers: unknown[] }>(
    (resolve, reject) => {
      const child = spawn(command.command, command.args, {
        env: { ...process.env, ...command.env, PATH: pathWithFake, FAKE_OSASCRIPT_MODE: mode },
      });
      let stderr = '';
      const answers: unknown[] = [];
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      createInterface({ input: child.stdout }).on('line', (line) => {
        answers.push(JSON.parse(line));
        if (answers.length === 2) child.stdin.end();
      });
      child.stdin.on('error', () => undefined);
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stderr, answers }));
      for (const id of [1, 2]) {
        child.stdin.write(`${JSON.stringify({ type: 'request', id, command: 'app.info', input: {} })}\n`);
      }
    },
  );
}

describe('macOS administrator prompt bridge (stand-in osascript)', () => {
  it('carries the JSON lines both ways through the FIFOs and ends when its input ends', async () => {
    const command = await elevatedWorkerCommand(devWorkerCommand(path.resolve('.')), {
      platform: 'darwin',
      env: {},
      tempDir: fifoRoot,
    });
    const outcome = await run(command, 'allow');
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.answers).toHaveLength(2);
    expect(outcome.answers[1]).toMatchObject({
      id: 2,
      envelope: { ok: true, value: { name: 'apkovl-studio worker' } },
    });
    await command.cleanup();
    expect(readdirSync(fifoRoot)).toEqual([]);
  });

  it('a dismissed prompt ends the bridge promptly with a cancellation', async () => {
    const command = await elevatedWorkerCommand(devWorkerCommand(path.resolve('.')), {
      platform: 'darwin',
      env: {},
      tempDir: fifoRoot,
    });
    const started = Date.now();
    const outcome = await run(command, 'cancel');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome.answers).toEqual([]);
    const error = describeWorkerExit(outcome, outcome.stderr, { elevated: true, platform: 'darwin' });
    expect(error.code).toBe('cancelled');
    await command.cleanup();
    expect(existsSync(command.args[3]!)).toBe(false);
  });
});
