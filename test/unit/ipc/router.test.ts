import { describe, expect, it, vi } from 'vitest';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { createClient, IpcError } from '../../../shared/ipc/client.js';
import type { Transport } from '../../../shared/ipc/contract.js';
import { createRouter, type Handlers } from '../../../shared/ipc/router.js';

const info = {
  name: 'Apkovl Studio',
  version: '1.2.3',
  platform: 'linux',
  deviceAccess: { mode: 'prompt' as const, detail: null },
};

function handlers(overrides: Partial<Handlers> = {}): Handlers {
  const unused = () => Promise.reject(new Error('not used in this test'));
  return {
    'app.info': () => Promise.resolve(info),
    'recent.list': unused,
    'file.kind': unused,
    'card.build': unused,
    'templates.list': unused,
    'definition.read': unused,
    'release.list': unused,
    'release.status': unused,
    'release.fetch': unused,
    'card.erase': unused,
    'drives.list': unused,
    'drive.describe': unused,
    'card.verify': unused,
    'packages.resolve': unused,
    'machine.try-check': unused,
    'machine.try': unused,
    'settings.get': unused,
    'settings.set': unused,
    'job.cancel': ({ jobId }) => Promise.resolve({ cancelled: jobId === 'known' }),
    'definition.save': unused,
    'dialog.open-file': unused,
    'dialog.save-file': unused,
    ...overrides,
  };
}
const context = { emit: () => undefined };

describe('IPC router', () => {
  it('answers with an ok envelope', async () => {
    const router = createRouter(handlers());
    expect(await router.handle('app.info', {}, context)).toEqual({
      ok: true,
      value: info,
    });
  });

  it('refuses unknown commands and invalid input, naming the field', async () => {
    const router = createRouter(handlers());
    expect(await router.handle('rm -rf', {}, context)).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
    expect(await router.handle('toString', {}, context)).toMatchObject({
      ok: false,
      error: { code: 'unknown-command' },
    });
    expect(
      await router.handle('card.build', { jobId: 'j', request: { source: { kind: 'definition', file: '' } } }, context),
    ).toMatchObject({
      ok: false,
      error: {
        code: 'invalid-request',
        location: 'request.source.file',
        message: expect.stringMatching(/machine definition/),
      },
    });
  });

  it('passes user errors and cancellation through with their codes', async () => {
    const router = createRouter(
      handlers({
        'job.cancel': ({ jobId }) =>
          Promise.reject(
            jobId === 'c'
              ? new CancelledError()
              : new AppError('not-found', 'no such job', { location: 'jobId', hint: 'start one' }),
          ),
      }),
    );
    expect(await router.handle('job.cancel', { jobId: 'x' }, context)).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'no such job', location: 'jobId', hint: 'start one' },
    });
    expect(await router.handle('job.cancel', { jobId: 'c' }, context)).toMatchObject({
      ok: false,
      error: { code: 'cancelled' },
    });
  });

  it('treats an AppError of code internal as the bug it is', async () => {
    const onBug = vi.fn();
    const bug = new AppError('internal', 'the media was not fully read');
    const router = createRouter(handlers({ 'app.info': () => Promise.reject(bug) }), { onBug });
    expect(await router.handle('app.info', {}, context)).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(onBug).toHaveBeenCalledWith(bug, 'app.info');
  });

  it('hides bugs behind "internal" and reports them with their stack', async () => {
    const onBug = vi.fn();
    const router = createRouter(handlers({ 'app.info': () => Promise.reject(new TypeError('x is undefined')) }), {
      onBug,
    });
    expect(await router.handle('app.info', {}, context)).toMatchObject({
      ok: false,
      error: { code: 'internal', message: expect.not.stringMatching(/undefined/) },
    });
    expect(onBug).toHaveBeenCalledWith(expect.any(TypeError), 'app.info');
  });

  it('treats a handler result that breaks the contract as a bug', async () => {
    const onBug = vi.fn();
    const router = createRouter(handlers({ 'app.info': () => Promise.resolve({ name: 1 } as never) }), { onBug });
    expect(await router.handle('app.info', {}, context)).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(onBug).toHaveBeenCalled();
  });
});

describe('IPC client', () => {
  it('returns values, throws IpcError, and filters events by name and shape', async () => {
    const router = createRouter(handlers());
    let listener: ((event: { name: string; payload: unknown }) => void) | null = null;
    const transport: Transport = {
      invoke: (command, input) => router.handle(command, input, context),
      subscribe: (next) => {
        listener = next;
        return () => (listener = null);
      },
    };
    const client = createClient(transport);
    expect((await client.invoke('job.cancel', { jobId: 'known' })).cancelled).toBe(true);
    await expect(client.invoke('job.cancel', { jobId: '' })).rejects.toBeInstanceOf(IpcError);
    const seen: unknown[] = [];
    const stop = client.on('job.progress', (payload) => seen.push(payload));
    const progress = { phase: 'build', label: 'x', bytes: 1, total: 2, bytesPerSecond: null, etaSeconds: null };
    listener!({ name: 'job.progress', payload: { jobId: 'a', progress } });
    listener!({ name: 'job.progress', payload: { jobId: 'a', progress: { nonsense: true } } });
    listener!({ name: 'other', payload: {} });
    expect(seen).toEqual([{ jobId: 'a', progress }]);
    stop();
    expect(listener).toBeNull();
  });
});
