import { CancelledError } from '../../../shared/errors.js';
import { HttpError } from './http.js';

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

/**
 * Run `attempt` until it succeeds, retrying errors that say a retry may help (timeouts,
 * dropped connections, 5xx) with exponential back-off. `attempt` gets the attempt number.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: (index: number) => Promise<T>,
  onRetry?: (error: HttpError, waitMs: number) => void,
): Promise<T> {
  for (let index = 0; ; index += 1) {
    try {
      return await attempt(index);
    } catch (error) {
      if (!(error instanceof HttpError) || !error.retry || index >= policy.retries) throw error;
      const wait = policy.backoffMs * 2 ** index;
      onRetry?.(error, wait);
      await sleep(wait, signal);
    }
  }
}
