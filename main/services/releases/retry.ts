import { CancelledError } from '../../../shared/errors.js';
import { HttpError, hostOf } from './http.js';

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  /** Wait before the first retry; doubled each time. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, backoffMs: 1000 };

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One retry about to happen, for a note to the user. */
export interface RetryEvent {
  error: HttpError;
  waitMs: number;
  /** 1 for the first retry. */
  retry: number;
  /** Retries in all for this kind of failure. */
  of: number;
}

function formatWait(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/** "reading the release index from host: mirror unreachable (connection refused); retry 1 of 2 in 1 s". */
export function retryNote(what: string, event: RetryEvent): string {
  return `${what} from ${hostOf(event.error.url)}: ${event.error.message}; retry ${event.retry} of ${event.of} in ${formatWait(event.waitMs)}`;
}

/**
 * Run `attempt` until it succeeds, retrying errors that say a retry may help (timeouts,
 * dropped connections, 5xx) with exponential back-off, at most `policy.retries` times (fewer
 * when the error caps them, as for a mirror that cannot be reached). `attempt` gets the attempt
 * number; `onRetry` hears of each retry before its wait.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: (index: number) => Promise<T>,
  onRetry?: (event: RetryEvent) => void,
): Promise<T> {
  for (let index = 0; ; index += 1) {
    try {
      return await attempt(index);
    } catch (error) {
      if (!(error instanceof HttpError) || !error.retry) throw error;
      const retries = Math.min(policy.retries, error.retryLimit ?? policy.retries);
      if (index >= retries) throw error;
      const wait = policy.backoffMs * 2 ** index;
      onRetry?.({ error, waitMs: wait, retry: index + 1, of: retries });
      await sleep(wait, signal);
    }
  }
}
