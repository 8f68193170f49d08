import { createInterface } from 'node:readline';
import { AppError } from '../../shared/errors.js';
import { createRouter } from '../../shared/ipc/router.js';
import { encodeWire, wireRequestSchema, type WireMessage } from '../../shared/ipc/wire.js';
import type { Services } from '../services/index.js';
import { createHandlers, type FileDialogs } from '../services/ipc-handlers.js';

export interface WorkerOptions {
  services: Services;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Told about bugs, with their stack (stderr). */
  log: (text: string) => void;
  version: string;
  /** The parent's pid: when it changes (the parent died), the worker stops. */
  parentPid?: () => number;
  /** Ctrl-C or SIGTERM: stop as when the input ends. */
  signal?: AbortSignal;
}

/** A worker has no windows: file paths come with the requests. */
const noDialogs: FileDialogs = {
  openFile: () => Promise.reject(new AppError('usage', 'the worker has no file dialogs; send the path')),
  saveFile: () => Promise.reject(new AppError('usage', 'the worker has no file dialogs; send the path')),
};

/**
 * `apkovl worker`: the IPC contract as JSON lines on stdin/stdout, for the desktop app (which
 * starts it elevated for device reads and writes). No socket, no port: only the process that
 * started it can talk to it. Requests run concurrently; each gets one response with its id,
 * and jobs send events meanwhile. It ends when its input ends or its parent goes away,
 * cancelling whatever runs, and applies every rule itself (it never trusts a client's view of
 * which drives are safe).
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const handlers = createHandlers(options.services, {
    dialogs: noDialogs,
    app: {
      name: 'apkovl-studio worker',
      version: options.version,
      platform: process.platform,
      deviceAccess:
        process.getuid?.() === 0 || process.platform === 'win32'
          ? { mode: 'privileged', detail: null }
          : { mode: 'unavailable', detail: 'the worker has only the rights it was started with: start it as root' },
    },
  });
  const router = createRouter(handlers, {
    onBug: (error, command) =>
      options.log(`[${command}] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  });
  const send = (message: WireMessage): void => {
    options.output.write(encodeWire(message));
  };
  const running = new Set<Promise<void>>();
  const jobIds = new Set<string>();

  const lines = createInterface({ input: options.input, crlfDelay: Infinity });
  const initialParent = options.parentPid?.();
  const watchdog =
    options.parentPid === undefined
      ? null
      : setInterval(() => {
          if (options.parentPid?.() !== initialParent) lines.close();
        }, 500);

  options.signal?.addEventListener('abort', () => lines.close(), { once: true });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      send(invalid(null, 'a request is one JSON object per line'));
      continue;
    }
    const request = wireRequestSchema.safeParse(parsed);
    if (!request.success) {
      const id = (parsed as { id?: unknown } | null)?.id;
      send(
        invalid(
          typeof id === 'number' || typeof id === 'string' ? id : null,
          'a request is {"type":"request","id":1,"command":"...","input":{...}}',
        ),
      );
      continue;
    }
    const { id, command, input } = request.data;
    const jobId = (input as { jobId?: unknown } | null)?.jobId;
    if (typeof jobId === 'string') jobIds.add(jobId);
    const task = router
      .handle(command, input, { emit: (name, payload) => send({ type: 'event', name, payload }) })
      .then((envelope) => send({ type: 'response', id, command, envelope }))
      .finally(() => {
        if (typeof jobId === 'string') jobIds.delete(jobId);
        running.delete(task);
      });
    running.add(task);
  }
  // The client is gone: stop every job (they clean up after themselves), then end.
  if (watchdog !== null) clearInterval(watchdog);
  for (const jobId of jobIds) await router.handle('job.cancel', { jobId }, { emit: () => undefined });
  await Promise.allSettled(running);
}

function invalid(id: number | string | null, hint: string): WireMessage {
  return {
    type: 'response',
    id,
    command: '',
    envelope: {
      ok: false,
      error: { code: 'invalid-request', message: 'the line is not a valid request', location: null, hint },
    },
  };
}
