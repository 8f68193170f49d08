import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AppError } from '../../shared/errors.js';
import type { Envelope } from '../../shared/ipc/contract.js';
import { encodeWire, wireMessageSchema } from '../../shared/ipc/wire.js';
import { displayText } from '../../shared/rules/display.js';
import type { WorkerCommand } from './worker-command.js';

/** How a worker process ended: its exit code, or the signal that stopped it (both null: it never started). */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Why a worker ended before answering, as an error a person can act on (stderr: its last output). */
export type DescribeExit = (exit: WorkerExit, stderr: string) => AppError;

export interface WorkerEvent {
  name: string;
  payload: unknown;
}

export interface WorkerClientOptions {
  command: WorkerCommand;
  /** Events the worker sends while its jobs run (job.progress, job.note). */
  onEvent?: (event: WorkerEvent) => void;
  /** The error for requests left unanswered when the worker ends or cannot start. */
  describeExit?: DescribeExit;
  /** How much of the worker's stderr is kept for diagnostics (its tail), in characters. */
  stderrLimit?: number;
  /** Each piece of stderr as it comes, for the app's log. */
  onStderr?: (text: string) => void;
  /**
   * A worker that has not answered anything this long after it was started is stopped, and its
   * requests fail with `error()`: for an elevated worker whose password prompt nobody answers.
   */
  startTimeout?: { ms: number; error: () => AppError };
  /** Told once when the process is gone (after its unanswered requests failed). */
  onExit?: (exit: WorkerExit) => void;
}

export interface WorkerClient {
  readonly pid: number | undefined;
  /** False once the process has ended (or could not start) or is being closed. */
  readonly usable: boolean;
  /** Resolves when the process is gone. */
  readonly exited: Promise<WorkerExit>;
  /** Send one request; resolves with the worker's envelope, rejects with an AppError if it ends first. */
  request(command: string, input: unknown): Promise<Envelope>;
  /** The tail of what the worker wrote on stderr (and any line on stdout that was not a message). */
  stderr(): string;
  /**
   * End the worker's input: it cancels its jobs (which delete their partial files), answers, and
   * exits. After `timeoutMs` it is terminated, and killed 2 s later.
   */
  close(options?: { timeoutMs?: number }): Promise<WorkerExit>;
}

const DEFAULT_STDERR_LIMIT = 64 * 1024;
const HANDSHAKE_ID = 'apkovl-app-ready';

/** The last few non-empty lines of a worker's stderr, cleaned for display. */
export function stderrTail(stderr: string, count = 3): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return displayText(lines.slice(-count).join(' | ')).slice(0, 500);
}

/** The default explanation of a worker that ended before answering. */
export const describeExitDefault: DescribeExit = (exit, stderr) => {
  const how =
    exit.signal !== null
      ? `was stopped by ${exit.signal}`
      : exit.code === null
        ? 'could not be started'
        : `ended with status ${exit.code}`;
  const tail = stderrTail(stderr);
  return new AppError('io', `the background worker ${how} before it answered${tail === '' ? '' : `: ${tail}`}`, {
    hint: 'try again (a new worker is started); if it happens again, run the same step with the apkovl command line, which shows the whole error',
  });
};

interface Pending {
  resolve: (envelope: Envelope) => void;
  reject: (error: AppError) => void;
}

/**
 * Starts `apkovl worker` (or anything speaking its wire format: shared/ipc/wire-format.ts) with
 * stdio pipes only, and multiplexes requests over it by id. Electron-free.
 */
export function startWorker(options: WorkerClientOptions): WorkerClient {
  const describe = options.describeExit ?? describeExitDefault;
  const limit = options.stderrLimit ?? DEFAULT_STDERR_LIMIT;
  const pending = new Map<number | string, Pending>();
  let nextId = 1;
  let diagnostics = '';
  let closing = false;
  let finished: WorkerExit | null = null;
  let failure: AppError | null = null;
  let resolveExited: (exit: WorkerExit) => void = () => undefined;
  const exited = new Promise<WorkerExit>((resolve) => (resolveExited = resolve));

  const note = (text: string) => {
    diagnostics = (diagnostics + text).slice(-limit);
  };

  const { command, args, env } = options.command;
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(command, args, { stdio: 'pipe', env: { ...process.env, ...env } });
  } catch (error) {
    // spawn throws synchronously only for bad arguments (an empty command, a NUL byte).
    note(`could not start ${command}: ${(error as Error).message}\n`);
    const failed = describe({ code: null, signal: null }, diagnostics);
    return {
      pid: undefined,
      usable: false,
      exited: Promise.resolve({ code: null, signal: null }),
      request: () => Promise.reject(failed),
      stderr: () => diagnostics,
      close: () => Promise.resolve({ code: null, signal: null }),
    };
  }
  const stdin = child.stdin;
  // A worker that died mid-write: its exit explains it; the pipe error itself says nothing more.
  stdin.on('error', () => undefined);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    note(text);
    options.onStderr?.(text);
  });

  let startTimer: NodeJS.Timeout | null = null;
  let startFailure: AppError | null = null;
  const answered = () => {
    if (startTimer !== null) clearTimeout(startTimer);
    startTimer = null;
  };

  const send = (id: number | string, name: string, input: unknown) => {
    stdin.write(encodeWire({ type: 'request', id, command: name, input }));
  };

  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      note(`(stdout) ${line}\n`);
      return;
    }
    const message = wireMessageSchema.safeParse(parsed);
    if (!message.success) {
      note(`(stdout) ${line}\n`);
      return;
    }
    answered();
    const data = message.data;
    if (data.type === 'event') options.onEvent?.({ name: data.name, payload: data.payload });
    else if (data.type === 'response' && data.id !== null) {
      const waiting = pending.get(data.id);
      pending.delete(data.id);
      waiting?.resolve(data.envelope);
    }
  });

  const finish = (exit: WorkerExit) => {
    if (finished !== null) return;
    answered();
    finished = exit;
    failure =
      startFailure ??
      (closing
        ? new AppError('cancelled', 'the worker was stopped before it answered (the app is closing)')
        : describe(exit, diagnostics));
    for (const waiting of pending.values()) waiting.reject(failure);
    pending.clear();
    options.onExit?.(exit);
    resolveExited(exit);
  };
  child.on('error', (error) => {
    if (child.pid === undefined) {
      note(`could not start ${command}: ${error.message}\n`);
      finish({ code: null, signal: null });
    } else {
      note(`${error.message}\n`);
    }
  });
  // 'close' comes after stdout and stderr ended, so every response was read first.
  child.on('close', (code, signal) => finish({ code, signal }));

  const terminate = (signal: NodeJS.Signals) => {
    try {
      child.kill(signal);
    } catch {
      // Not ours to signal any more (an elevated process): the timeout below gives up waiting.
    }
  };

  if (options.startTimeout !== undefined) {
    const { ms, error } = options.startTimeout;
    send(HANDSHAKE_ID, 'app.info', {});
    startTimer = setTimeout(() => {
      startFailure = error();
      terminate('SIGTERM');
    }, ms);
  }

  const client: WorkerClient = {
    get pid() {
      return child.pid;
    },
    get usable() {
      return finished === null && !closing;
    },
    exited,
    request(name, input) {
      if (finished !== null) return Promise.reject(failure ?? describe(finished, diagnostics));
      if (closing) return Promise.reject(new AppError('cancelled', 'the worker is closing (the app is quitting)'));
      const id = nextId++;
      return new Promise<Envelope>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send(id, name, input);
      });
    },
    stderr: () => diagnostics,
    async close({ timeoutMs = 10_000 } = {}) {
      if (finished !== null) return finished;
      closing = true;
      stdin.end();
      const wait = (ms: number) =>
        Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref())]);
      if ((await wait(timeoutMs)) !== null) return exited;
      terminate('SIGTERM');
      if ((await wait(2000)) !== null) return exited;
      terminate('SIGKILL');
      const last = await wait(2000);
      if (last !== null) return last;
      // A process we may not signal (it runs as root): stop waiting for it.
      finish({ code: null, signal: null });
      return exited;
    },
  };
  return client;
}
