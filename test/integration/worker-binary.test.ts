import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The packaged app's worker program (scripts/build-worker.mjs): a Node single executable with
 * its native modules beside it. Built here, then copied OUTSIDE the repository, so that nothing
 * it needs can come from the checkout's node_modules. Needs only Node and the npm packages: it
 * runs under CI, never skips.
 */
type Message = { type: string; id?: unknown; name?: string; envelope?: { ok: boolean; value?: unknown } };

let temp: ReturnType<typeof makeTempDir>;
let binary: string;
let copy: string;
let media: SyntheticMedia;
let overlay: string;

beforeAll(async () => {
  temp = makeTempDir('apkovl-worker-binary-');
  const built = path.join(temp.dir, 'built');
  const script = path.resolve('scripts/build-worker.mjs');
  const { buildWorker } = (await import(script)) as {
    buildWorker: (options: { out: string }) => Promise<{ binary: string; seconds: number }>;
  };
  const result = await buildWorker({ out: built });
  expect(result.seconds).toBeLessThan(60);
  copy = path.join(temp.dir, 'elsewhere', 'worker');
  cpSync(built, copy, { recursive: true });
  binary = path.join(copy, path.basename(result.binary));
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 1 });
  overlay = createOverlay(temp.dir, 'binary-host');
}, 120_000);
afterAll(() => temp.cleanup());

/**
 * Sends the requests, closes stdin once each has its response (a closed input cancels what runs)
 * and collects every message until the worker exits.
 */
function talk(
  requests: { type: string; id: unknown; command: string; input: unknown }[],
): Promise<{ messages: Message[]; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['worker'], { cwd: temp.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const messages: Message[] = [];
    const waiting = new Set(requests.map((request) => request.id));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Message;
      messages.push(message);
      if (message.type === 'response') waiting.delete(message.id);
      if (waiting.size === 0) child.stdin.end();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ messages, code, stderr }));
    for (const request of requests) child.stdin.write(`${JSON.stringify(request)}\n`);
  });
}

describe('the packaged worker program (Node SEA + node_modules beside it)', () => {
  it('is a single executable outside the repository, with its native modules beside it', () => {
    expect(copy.startsWith(path.resolve('.'))).toBe(false);
    expect(statSync(binary).mode & 0o111).not.toBe(0);
    for (const name of ['drivelist', '@ronomon/direct-io', 'xxhash-addon']) {
      expect(existsSync(path.join(copy, 'lib', 'node_modules', name, 'package.json'))).toBe(true);
    }
    // The copies load in this Node (the SEA is this Node, so the ABI is the same).
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        `const r = require('node:module').createRequire(${JSON.stringify(path.join(copy, 'lib', 'x.js'))});` +
          "console.log([typeof r('drivelist').list, typeof r('@ronomon/direct-io').getAlignedBuffer, typeof r('xxhash-addon').XXHash3].join(' '))",
      ],
      { cwd: temp.dir, encoding: 'utf8' },
    );
    expect(loaded.trim()).toBe('function function function');
  });

  it('prints its version from the package.json beside it', () => {
    const version = execFileSync(binary, ['--version'], { cwd: temp.dir, encoding: 'utf8' }).trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(version).not.toBe('0.0.0');
  });

  it('answers app.info and drives.list as `apkovl worker` (drivelist loads from beside it)', async () => {
    const { messages, code, stderr } = await talk([
      { type: 'request', id: 1, command: 'app.info', input: {} },
      { type: 'request', id: 2, command: 'drives.list', input: {} },
    ]);
    expect(stderr).not.toMatch(/ExperimentalWarning|Error/);
    expect(code).toBe(0);
    expect(messages.find((message) => message.id === 1)).toMatchObject({
      command: 'app.info',
      envelope: { ok: true, value: { name: 'apkovl-studio worker', platform: process.platform } },
    });
    const drives = messages.find((message) => message.id === 2);
    expect(drives?.envelope?.ok).toBe(true);
    expect(Array.isArray((drives?.envelope?.value as { drives?: unknown } | undefined)?.drives)).toBe(true);
  });

  it('builds and verifies an image file (xxhash-addon, the hashing worker thread)', async () => {
    const output = path.join(temp.dir, 'card.img');
    const { messages, code, stderr } = await talk([
      {
        type: 'request',
        id: 'build',
        command: 'card.build',
        input: {
          jobId: 'build',
          request: {
            source: { kind: 'apkovl', file: overlay },
            media: { kind: 'file', path: media.tarball },
            destination: { kind: 'image', path: output },
            card: { partitionBytes: 256 << 20 },
          },
        },
      },
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(messages.find((message) => message.id === 'build')?.envelope).toMatchObject({ ok: true });
    const verified = await talk([
      {
        type: 'request',
        id: 'verify',
        command: 'card.verify',
        input: { jobId: 'verify', request: { medium: { kind: 'image', path: output }, bootMedia: media.tarball } },
      },
    ]);
    const report = verified.messages.find((message) => message.id === 'verify')?.envelope;
    expect(report).toMatchObject({ ok: true, value: { bootMedia: { sameAsWritten: true } } });
    const checks = (report?.value as { checks: { id: string; status: string }[] }).checks;
    expect(checks.find((check) => check.id === 'manifest')?.status).toBe('ok');
  });
});
