import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS, describeNetworkError, HttpError } from '../../../main/services/releases/http.js';
import { retryNote, withRetries, type RetryEvent } from '../../../main/services/releases/retry.js';

const URL = 'http://mirror.example:8080/alpine/v3.22/releases/aarch64/latest-releases.yaml';
const networkError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

describe('network errors', () => {
  it('says a mirror is unreachable, and caps the retries of refused and unresolvable hosts', () => {
    const refused = describeNetworkError(networkError('ECONNREFUSED'), URL, DEFAULT_TIMEOUTS);
    expect(refused).toMatchObject({ message: 'mirror unreachable (connection refused)', retry: true, retryLimit: 2 });
    const noDns = describeNetworkError(networkError('EAI_AGAIN'), URL, DEFAULT_TIMEOUTS);
    expect(noDns.message).toBe(
      'mirror unreachable (the host name mirror.example:8080 cannot be looked up now: no DNS)',
    );
    expect(noDns.retryLimit).toBe(2);
    const unknown = describeNetworkError(networkError('ENOTFOUND'), URL, DEFAULT_TIMEOUTS);
    expect(unknown).toMatchObject({ retry: false, message: expect.stringMatching(/does not resolve/) as unknown });
    const silent = describeNetworkError(networkError('UND_ERR_CONNECT_TIMEOUT'), URL, DEFAULT_TIMEOUTS);
    expect(silent).toMatchObject({ message: 'mirror unreachable (no connection within 15 s)', retryLimit: 2 });
    const reset = describeNetworkError(networkError('ECONNRESET'), URL, DEFAULT_TIMEOUTS);
    expect(reset).toMatchObject({ retry: true, retryLimit: null });
  });
});

describe('retries', () => {
  it('tells of each retry with its number, the total and the wait; refused connections get fewer', async () => {
    const events: RetryEvent[] = [];
    let attempts = 0;
    const refused = describeNetworkError(networkError('ECONNREFUSED'), URL, DEFAULT_TIMEOUTS);
    await expect(
      withRetries(
        { retries: 4, backoffMs: 1 },
        undefined,
        () => {
          attempts += 1;
          return Promise.reject(refused);
        },
        (event) => events.push(event),
      ),
    ).rejects.toBe(refused);
    expect(attempts).toBe(3);
    expect(events.map(({ retry, of, waitMs }) => ({ retry, of, waitMs }))).toEqual([
      { retry: 1, of: 2, waitMs: 1 },
      { retry: 2, of: 2, waitMs: 2 },
    ]);

    const flaky = new HttpError('the mirror answered HTTP 503', URL, true, 503);
    events.length = 0;
    attempts = 0;
    const value = await withRetries(
      { retries: 4, backoffMs: 1 },
      undefined,
      () => (++attempts < 4 ? Promise.reject(flaky) : Promise.resolve('ok')),
      (event) => events.push(event),
    );
    expect(value).toBe('ok');
    expect(events.map((event) => `${event.retry}/${event.of}`)).toEqual(['1/4', '2/4', '3/4']);
  });

  it('formats a note a person can read', () => {
    const error = describeNetworkError(networkError('ECONNREFUSED'), URL, DEFAULT_TIMEOUTS);
    expect(retryNote('reading the release index', { error, waitMs: 4000, retry: 2, of: 2 })).toBe(
      'reading the release index from mirror.example:8080: mirror unreachable (connection refused); retry 2 of 2 in 4 s',
    );
    expect(retryNote('downloading x', { error, waitMs: 20, retry: 1, of: 3 })).toMatch(/retry 1 of 3 in 20 ms$/);
    expect(retryNote('downloading x', { error, waitMs: 1500, retry: 1, of: 3 })).toMatch(/in 1\.5 s$/);
  });
});
