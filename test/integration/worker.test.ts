import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/cli.js';
import { bytesWrittenBy, describeWithLoopDevices, LoopDevices } from '../helpers/loop-devices.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

type Message = {
  type: string;
  id?: unknown;
  name?: string;
  payload?: Record<string, unknown>;
  envelope?: Record<string, unknown>;
};

/** `apkovl worker` with a line reader over its stdout. */
function startWorker(): {
  child: ChildProcessWithoutNullStreams;
  messages: Message[];
  next: (test: (message: Message) => boolean) => Promise<Message>;
  send: (line: unknown) => void;
} {
  const child = spawn(process.execPath, [cliPath, 'worker'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: Message[] = [];
  const waiting: { test: (message: Message) => boolean; resolve: (message: Message) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as Message;
    messages.push(message);
    for (const waiter of [...waiting]) {
      if (waiter.test(message)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  return {
    child,
    messages,
    next: (test) =>
      new Promise((resolve) => {
        const seen = messages.find(test);
        if (seen) resolve(seen);
        else waiting.push({ test, resolve });
      }),
    send: (line) => child.stdin.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`),
  };
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 1 });
  overlay = createOverlay(temp.dir, 'worker-host');
});
afterAll(() => temp.cleanup());

const buildRequest = (output: string, jobId: string) => ({
  type: 'request',
  id: jobId,
  command: 'card.build',
  input: {
    jobId,
    request: {
      source: { kind: 'apkovl', file: overlay },
      media: { kind: 'file', path: media.tarball },
      destination: { kind: 'image', path: output },
      card: { partitionBytes: 256 << 20 },
    },
  },
});

describe('apkovl worker', () => {
  it('answers each request by its id, sends job events meanwhile, and ends with its input', async () => {
    const worker = startWorker();
    worker.send({ type: 'request', id: 1, command: 'app.info', input: {} });
    expect(await worker.next((message) => message.id === 1)).toMatchObject({
      type: 'response',
      command: 'app.info',
      envelope: { ok: true, value: { name: 'apkovl-studio worker', platform: process.platform } },
    });
    const output = path.join(temp.dir, 'worker.img');
    worker.send(buildRequest(output, 'job-a'));
    const response = await worker.next((message) => message.id === 'job-a');
    expect(response.envelope).toMatchObject({
      ok: true,
      value: { destination: { kind: 'image', path: output }, overlay: { fileName: 'worker-host.apkovl.tar.gz' } },
    });
    const progress = worker.messages.filter((message) => message.type === 'event' && message.name === 'job.progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((message) => message.payload?.jobId === 'job-a')).toBe(true);
    expect(existsSync(output)).toBe(true);
    // The card it wrote, verified by the same worker: the report as the app gets it. Every file is
    // as written; the hand-made overlay fails the lint rules (no boot services), so: faulty.
    worker.send({
      type: 'request',
      id: 'verify-a',
      command: 'card.verify',
      input: { jobId: 'verify-a', request: { medium: { kind: 'image', path: output }, bootMedia: media.tarball } },
    });
    const verified = await worker.next((message) => message.id === 'verify-a');
    expect(verified.envelope).toMatchObject({
      ok: true,
      value: { verdict: 'faulty', bootMedia: { source: 'given', sameAsWritten: true } },
    });
    const checks = (verified.envelope?.value as { checks: { id: string; status: string }[] }).checks;
    expect(checks.filter((check) => check.status === 'failed').map((check) => check.id)).toEqual(['apkovl']);
    expect(checks.find((check) => check.id === 'manifest')?.status).toBe('ok');
    expect(
      worker.messages.some((message) => message.name === 'job.progress' && message.payload?.jobId === 'verify-a'),
    ).toBe(true);
    worker.child.stdin.end();
    expect(await exited(worker.child)).toBe(0);
  });

  it('serves what the app needs to create a card: templates, definitions, releases in the cache', async () => {
    const worker = startWorker();
    worker.send({ type: 'request', id: 'templates', command: 'templates.list', input: {} });
    const templates = await worker.next((message) => message.id === 'templates');
    expect(
      (templates.envelope as { value: { templates: { name: string }[] } }).value.templates.map((t) => t.name),
    ).toEqual(['rpi-kiosk', 'rpi-headless', 'x86-server']);
    const definition = path.resolve('test/fixtures/definitions/kiosk.yml');
    worker.send({ type: 'request', id: 'read', command: 'definition.read', input: { path: definition } });
    expect(await worker.next((message) => message.id === 'read')).toMatchObject({
      envelope: { ok: true, value: { path: definition, yaml: expect.stringContaining('hostname: kiosk-hall') } },
    });
    const emptyCache = path.join(temp.dir, 'empty-cache');
    worker.send({
      type: 'request',
      id: 'status',
      command: 'release.status',
      input: { board: 'rpi', arch: 'aarch64', version: '3.22.2', cacheDir: emptyCache },
    });
    expect(await worker.next((message) => message.id === 'status')).toMatchObject({
      envelope: { ok: true, value: { cached: null } },
    });
    worker.child.stdin.end();
    expect(await exited(worker.child)).toBe(0);
  });

  it('answers a malformed line and an unknown command with errors, and goes on', async () => {
    const worker = startWorker();
    worker.send('this is not json');
    worker.send({ type: 'request', command: 'app.info' });
    worker.send({ type: 'request', id: 7, command: 'rm -rf', input: {} });
    worker.send({ type: 'request', id: 8, command: 'card.build', input: { jobId: 'x', request: { source: {} } } });
    worker.send({ type: 'request', id: 9, command: 'app.info', input: {} });
    expect(await worker.next((message) => message.id === 9)).toMatchObject({ envelope: { ok: true } });
    const responses = worker.messages.filter((message) => message.type === 'response');
    expect(
      responses.map((message) => [message.id, (message.envelope?.error as { code?: string } | undefined)?.code]),
    ).toEqual([
      [null, 'invalid-request'],
      [null, 'invalid-request'],
      [7, 'unknown-command'],
      [8, 'invalid-request'],
      [9, undefined],
    ]);
    worker.child.stdin.end();
    expect(await exited(worker.child)).toBe(0);
  });

  it('cancels a job on request, leaving nothing behind', async () => {
    const worker = startWorker();
    const output = path.join(temp.dir, 'cancelled.img');
    worker.send(buildRequest(output, 'job-c'));
    await worker.next((message) => message.name === 'job.progress');
    worker.send({ type: 'request', id: 'stop', command: 'job.cancel', input: { jobId: 'job-c' } });
    expect(await worker.next((message) => message.id === 'job-c')).toMatchObject({
      envelope: { ok: false, error: { code: 'cancelled' } },
    });
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    worker.child.stdin.end();
    expect(await exited(worker.child)).toBe(0);
  });

  it('stops its job and exits when its parent dies', async () => {
    const output = path.join(temp.dir, 'orphan.img');
    // A parent that starts the worker with a pipe it holds, starts a build, then is killed.
    const script = `
      const { spawn } = require('node:child_process');
      const worker = spawn(process.execPath, [${JSON.stringify(cliPath)}, 'worker'], { stdio: ['pipe', 'pipe', 'inherit'] });
      worker.stdout.once('data', () => process.stdout.write(String(worker.pid) + '\\n'));
      worker.stdin.write(${JSON.stringify(`${JSON.stringify(buildRequest(output, 'job-o'))}\n`)});
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const workerPid = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    parent.kill('SIGKILL');
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(() => alive(workerPid), { timeout: 20_000, interval: 100 }).toBe(false);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });
});

describeWithLoopDevices('apkovl worker and the drive rules (loop devices)', () => {
  const loops = new LoopDevices();
  afterAll(() => loops.detachAll());

  it('refuses, by its own classification, to write a drive that holds the system’s swap', async () => {
    // A drive the rules call a system drive (swap in use on it) that is still safe to use in a
    // test: this machine's own disk is never asked for, not even to see it refused.
    const file = path.join(temp.dir, 'swap-drive.bin');
    writeFileSync(file, '');
    truncateSync(file, 256 << 20);
    const device = loops.attach(file);
    execFileSync('mkswap', ['--quiet', device]);
    execFileSync('swapon', [device]);
    const worker = startWorker();
    try {
      worker.send({ type: 'request', id: 'list', command: 'drives.list', input: {} });
      worker.send({ type: 'request', id: 'describe', command: 'drive.describe', input: { device } });
      const listed = await worker.next((message) => message.id === 'list');
      const drives = (listed.envelope as { value: { drives: { status: string; reasons: { code: string }[] }[] } }).value
        .drives;
      // The disk holding / is there, hidden, with its reason: the app decides whether to show it.
      expect(drives.some((drive) => drive.status === 'hidden' && drive.reasons[0]?.code === 'system-mount')).toBe(true);
      const described = await worker.next((message) => message.id === 'describe');
      const { drive, identity } = (described.envelope as { value: { drive: { status: string }; identity: unknown } })
        .value;
      expect(drive.status).toBe('hidden');
      // A client that claims the drive is fine (or never looked) changes nothing.
      const request = {
        type: 'request',
        id: 'write',
        command: 'card.build',
        input: {
          jobId: 'write',
          request: {
            source: { kind: 'apkovl', file: overlay },
            media: { kind: 'file', path: media.tarball },
            destination: { kind: 'device', path: device, confirmed: identity, largeDriveConfirmed: true },
          },
        },
      };
      const before = bytesWrittenBy(device);
      worker.send(request);
      const response = await worker.next((message) => message.id === 'write');
      expect(response.envelope).toMatchObject({
        ok: false,
        error: { code: 'invalid-input', message: expect.stringMatching(/refusing to write to .*swap/) as unknown },
      });
      expect(bytesWrittenBy(device)).toBe(before);
      worker.child.stdin.end();
      expect(await exited(worker.child)).toBe(0);
    } finally {
      spawnSync('swapoff', [device]);
    }
  });
});
