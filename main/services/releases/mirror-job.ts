import type { ProgressListener } from '../../../shared/model/progress.js';
import type { HttpTimeouts } from './http.js';
import type { RetryPolicy } from './retry.js';

/** What every download from a mirror takes: the environment (proxies), cancellation, progress and notes, timeouts and retries. */
export interface MirrorJobOptions {
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Retries, waits and other notes for a person. */
  onNote?: (text: string) => void;
  timeouts?: HttpTimeouts;
  retry?: RetryPolicy;
}

/** The job's options as another download takes them: the environment, and each one set. */
export function mirrorJob(options: MirrorJobOptions): MirrorJobOptions {
  return {
    env: options.env,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onNote ? { onNote: options.onNote } : {}),
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  };
}
