import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { describeExitDefault, startWorker, type WorkerEvent } from '../../../main/app/worker-client.js';

/**
 * A stand-in for `apkovl worker` speaking its wire format: it answers `echo` with its input,
 * sends an event before answering `evented`, answers `later` after 300 ms, writes `stderr` to
 * stderr, and exits with `input.code` on `exit`. It ignores its input's end unless `linger` is
 * false. (The real worker is tested through the app handlers: test/integration/app-handlers.test.ts.)
 */
const fakeWorker = `
const readline = require('node:readline');
const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, command, input } = JSON.parse(line);
  const answer = (value) => send({ type: 'response', id, command, envelope: { ok: true, value } });
  if (command === 'echo') answer(input);
  if (command === 'app.info') answer({ ready: true });
  if (command === 'evented') { send({ type: 'event', name: 'job.note', payload: { jobId: 'j', text: 'hello' } }); answer(null); }
  if (command === 'later') setTimeout(() => answer('late'), 300);
  if (command === 'stderr') { process.stderr.write(input.text); answer(null); }
  if (command === 'garbage') { process.stdout.write('not json\\n'); answer(null); }
  if (command === 'exit') { process.stderr.write(input.last ?? ''); process.exit(input.code); }
});
lines.on('close', () => { if (process.env.FAKE_LINGER === '1') setInterval(() => {}, 1000); else process.exit(0); });
`;

const command = (env: Record<string, string> = {}) => ({ command: process.execPath, args: ['-e', fakeWorker], env });

describe('worker client', () => {
  it('multiplexes requests by id and forwards events', async () => {
    const events: WorkerEvent[] = [];
    const worker = startWorker({ command: command(), onEvent: (event) => events.push(event) });
    const [later, echo, evented] = await Promise.all([
      worker.request('later', {}),
      worker.request('echo', { a: 1 }),
      worker.request('evented', {}),
    ]);
    expect(later).toEqual({ ok: true, value: 'late' });
    expect(echo).toEqual({ ok: true, value: { a: 1 } });
    expect(evented).toEqual({ ok: true, value: null });
    expect(events).toEqual([{ name: 'job.note', payload: { jobId: 'j', text: 'hello' } }]);
    expect(await worker.close()).toEqual({ code: 0, signal: null });
    expect(worker.usable).toBe(false);
  });

  it('keeps only the tail of stderr, and notes stdout lines that are not messages', async () => {
    const worker = startWorker({ command: command(), stderrLimit: 100 });
    await worker.request('stderr', { text: `${'x'.repeat(500)}\nthe end\n` });
    await worker.request('garbage', {});
    expect(worker.stderr().length).toBeLessThanOrEqual(100);
    expect(worker.stderr()).toMatch(/the end\n\(stdout\) not json\n$/);
    await worker.close();
  });

  it('fails the requests it had not answered when it exits, with describeExit given its status and stderr', async () => {
    const seen: { code: number | null; stderr: string }[] = [];
    const worker = startWorker({
      command: command(),
      describeExit: (exit, stderr) => {
        seen.push({ code: exit.code, stderr });
        return new AppError('io', `mapped ${String(exit.code)}`);
      },
    });
    const waiting = worker.request('later', {});
    const exiting = worker.request('exit', { code: 126, last: 'Request dismissed\n' });
    await expect(waiting).rejects.toMatchObject({ code: 'io', message: 'mapped 126' });
    await expect(exiting).rejects.toMatchObject({ message: 'mapped 126' });
    expect(seen).toEqual([{ code: 126, stderr: 'Request dismissed\n' }]);
    // Later requests fail the same way at once.
    await expect(worker.request('echo', {})).rejects.toMatchObject({ message: 'mapped 126' });
    expect(worker.usable).toBe(false);
  });

  it('says clearly when the program cannot be started', async () => {
    const worker = startWorker({ command: { command: '/nonexistent/apkovl-worker', args: ['worker'], env: {} } });
    const error = await worker.request('echo', {}).catch((error: unknown) => error);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toMatch(
      /the background worker could not be started before it answered: could not start \/nonexistent\/apkovl-worker: spawn \/nonexistent\/apkovl-worker ENOENT/,
    );
    expect(await worker.exited).toEqual({ code: null, signal: null });
  });

  it('terminates a worker that does not end when its input ends', async () => {
    const worker = startWorker({ command: command({ FAKE_LINGER: '1' }) });
    await worker.request('echo', {});
    const started = Date.now();
    expect(await worker.close({ timeoutMs: 200 })).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives up on a worker that answers nothing in time (an unanswered password prompt)', async () => {
    const worker = startWorker({
      command: { command: 'sleep', args: ['30'], env: {} },
      startTimeout: { ms: 200, error: () => new AppError('io', 'no answer from the password prompt') },
    });
    await expect(worker.request('echo', {})).rejects.toMatchObject({ message: 'no answer from the password prompt' });
    expect((await worker.exited).signal).toBe('SIGTERM');
  });

  it('describes exits by default with the status or signal and the last stderr lines', () => {
    expect(describeExitDefault({ code: 3, signal: null }, 'a\nb\n\nc\nd\n').message).toBe(
      'the background worker ended with status 3 before it answered: b | c | d',
    );
    expect(describeExitDefault({ code: null, signal: 'SIGKILL' }, '').message).toBe(
      'the background worker was stopped by SIGKILL before it answered',
    );
  });
});
