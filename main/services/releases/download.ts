import { createHash, type Hash } from 'node:crypto';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { describeNetworkError, hostOf, HttpError, open, statusError, type OpenOptions } from './http.js';
import { retryNote, withRetries, type RetryPolicy } from './retry.js';

export interface DownloadOptions extends Omit<OpenOptions, 'headers'> {
  /** The same file on several mirrors, tried in order. */
  urls: string[];
  /** Where the bytes go (created or truncated). */
  destination: string;
  /** Expected size, when the index gives it. */
  expectedSize?: number;
  retry: RetryPolicy;
  onProgress?: (bytes: number, total: number | null) => void;
  onRetry?: (message: string) => void;
}

export interface DownloadResult {
  url: string;
  size: number;
  sha256: string;
}

interface State {
  handle: FileHandle;
  hash: Hash;
  received: number;
  /** ETag or Last-Modified of the first response, so a resumed range is of the same file. */
  validator: string | null;
  total: number | null;
}

function fileNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

async function restart(state: State): Promise<void> {
  await state.handle.truncate(0);
  state.hash = createHash('sha256');
  state.received = 0;
  state.validator = null;
}

/** One request: from the start, or from where the last one stopped (HTTP Range). */
async function attempt(url: string, state: State, options: DownloadOptions): Promise<void> {
  const headers: Record<string, string> = {};
  if (state.received > 0) {
    headers.range = `bytes=${state.received}-`;
    if (state.validator !== null) headers['if-range'] = state.validator;
  }
  const response = await open(url, { ...options, headers });
  if (response.status !== 200 && response.status !== 206) {
    response.discard();
    throw statusError(response.status, url);
  }
  if (response.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(response.headers, 'content-range') ?? '');
    if (range === null || Number(range[1]) !== state.received) {
      response.discard();
      await restart(state);
      throw new HttpError('the mirror answered a different range than asked; starting over', url, true, 206);
    }
    if (range[2] !== '*') state.total = Number(range[2]);
  } else {
    if (state.received > 0) await restart(state); // the server ignored the range: from the start
    const length = header(response.headers, 'content-length');
    state.total = length === null ? (options.expectedSize ?? null) : Number(length);
    state.validator = header(response.headers, 'etag') ?? header(response.headers, 'last-modified');
  }
  if (options.expectedSize !== undefined && state.total !== null && state.total !== options.expectedSize) {
    response.discard();
    throw new AppError(
      'invalid-media',
      `the mirror serves ${state.total} bytes but the release index says ${options.expectedSize}`,
      {
        location: url,
        hint: 'the mirror is out of date or the file was replaced; try another mirror (--mirror)',
      },
    );
  }
  try {
    for await (const chunk of response.body) {
      await state.handle.write(chunk, 0, chunk.length, state.received);
      state.hash.update(chunk);
      state.received += chunk.length;
      options.onProgress?.(state.received, state.total);
    }
  } catch (error) {
    if (options.signal?.aborted) throw new CancelledError();
    throw describeNetworkError(error, url, options.timeouts);
  }
  if (state.total !== null && state.received < state.total) {
    throw new HttpError(`the connection closed after ${state.received} of ${state.total} bytes`, url, true, null);
  }
}

/**
 * Download one file: streaming to disk with its SHA-256 computed on the way, resuming with
 * Range after a dropped or stalled connection, retrying with back-off, falling back to the next
 * mirror. The caller deletes `destination` when this throws.
 */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const handle = await openFile(options.destination, 'w');
  const failures: string[] = [];
  let allMissing = true;
  try {
    for (const url of options.urls) {
      const state: State = {
        handle,
        hash: createHash('sha256'),
        received: 0,
        validator: null,
        total: options.expectedSize ?? null,
      };
      await handle.truncate(0);
      try {
        await withRetries(
          options.retry,
          options.signal,
          () => attempt(url, state, options),
          (event) => options.onRetry?.(retryNote(`downloading ${fileNameOf(url)}`, event)),
        );
        return { url, size: state.received, sha256: state.hash.digest('hex') };
      } catch (error) {
        if (error instanceof CancelledError || !(error instanceof HttpError)) throw error;
        failures.push(`${url}: ${error.message}`);
        if (error.status !== 404 && error.status !== 410) allMissing = false;
        if (url !== options.urls.at(-1))
          options.onRetry?.(`downloading from ${hostOf(url)} failed: ${error.message}; trying the next mirror`);
      }
    }
  } finally {
    await handle.close();
  }
  throw new AppError(
    allMissing ? 'not-found' : 'io',
    `the download failed on every mirror:\n  ${failures.join('\n  ')}`,
    {
      location: options.urls[0] ?? '',
      hint: 'check the network (and HTTPS_PROXY), or name other mirrors with --mirror',
    },
  );
}
