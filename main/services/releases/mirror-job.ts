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
