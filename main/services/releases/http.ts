import { Agent, EnvHttpProxyAgent, interceptors, request, type Dispatcher } from 'undici';
import { AppError, CancelledError } from '../../../shared/errors.js';

/**
 * HTTP(S) for mirrors: proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, as
 * curl reads them), timeouts for connecting, for the headers and for a body that stops
 * flowing, and errors that say which URL failed and whether trying again may help.
 */

export interface HttpTimeouts {
  connectMs: number;
  headersMs: number;
  /** Longest pause between two pieces of a body. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = { connectMs: 15_000, headersMs: 30_000, idleMs: 30_000 };

export function createDispatcher(
  env: Readonly<Record<string, string | undefined>>,
  timeouts: HttpTimeouts,
): Dispatcher {
  const connect = { timeout: timeouts.connectMs };
  const redirects = interceptors.redirect({ maxRedirections: 5 });
  const proxy = env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy;
  if (proxy === undefined || proxy === '') return new Agent({ connect }).compose(redirects);
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  return new EnvHttpProxyAgent({
    connect,
    ...((env.HTTP_PROXY ?? env.http_proxy) ? { httpProxy: env.HTTP_PROXY ?? env.http_proxy } : {}),
    ...((env.HTTPS_PROXY ?? env.https_proxy) ? { httpsProxy: env.HTTPS_PROXY ?? env.https_proxy } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
  }).compose(redirects);
}

/**
 * Retries for a mirror that cannot be reached at all (connection refused, no connection within
 * the connect timeout, no route, no DNS): a host that cannot be reached now rarely answers a few
 * seconds later, so these give up sooner than the retry policy would.
 */
export const UNREACHABLE_RETRIES = 2;

/**
 * A failed request: `retry` says whether the same URL may work a little later, `retryLimit`
 * caps the retries below the policy's, `status` is the HTTP status (null: no answer at all).
 */
export class HttpError extends AppError {
  constructor(
    message: string,
    readonly url: string,
    readonly retry: boolean,
    readonly status: number | null,
    cause?: unknown,
    readonly retryLimit: number | null = null,
  ) {
    super(status === 404 || status === 410 ? 'not-found' : 'io', message, {
      location: url,
      ...(cause !== undefined ? { cause } : {}),
    });
  }
}

export interface OpenOptions {
  dispatcher: Dispatcher;
  timeouts: HttpTimeouts;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
}

export interface OpenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Drop the rest of the body (an error page, or a download that is given up). */
  discard(): void;
}

/** host:port of a URL, for messages. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function describeNetworkError(error: unknown, url: string, timeouts: HttpTimeouts): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  if (code === 'UND_ERR_BODY_TIMEOUT')
    return new HttpError(`the mirror stopped sending data for ${timeouts.idleMs / 1000} s`, url, true, null, error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT')
    return new HttpError(`the mirror did not answer within ${timeouts.headersMs / 1000} s`, url, true, null, error);
  const unreachable = (reason: string, retry = true) =>
    new HttpError(`mirror unreachable (${reason})`, url, retry, null, error, UNREACHABLE_RETRIES);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return unreachable(`no connection within ${timeouts.connectMs / 1000} s`);
  if (code === 'ENOTFOUND') return unreachable(`the host name ${hostOf(url)} does not resolve`, false);
  if (code === 'EAI_AGAIN') return unreachable(`the host name ${hostOf(url)} cannot be looked up now: no DNS`);
  if (code === 'ECONNREFUSED') return unreachable('connection refused');
  if (code === 'ENETUNREACH') return unreachable('the network is unreachable');
  if (code === 'EHOSTUNREACH') return unreachable('no route to the host');
  return new HttpError(`the connection failed: ${message}`, url, true, null, error);
}

/** Start a GET; the caller reads (and must finish or destroy) the body. */
export async function open(url: string, options: OpenOptions): Promise<OpenResponse> {
  if (options.signal?.aborted) throw new CancelledError();
  try {
    const response = await request(url, {
      method: 'GET',
      dispatcher: options.dispatcher,
      headers: { 'user-agent': 'apkovl-studio', ...options.headers },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.idleMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const body = response.body;
    return {
      status: response.statusCode,
      headers: response.headers,
      body: body as AsyncIterable<Buffer>,
      discard: () => {
        body.on('error', () => undefined);
        body.destroy();
      },
    };
  } catch (error) {
    if (options.signal?.aborted) throw new CancelledError();
    throw describeNetworkError(error, url, options.timeouts);
  }
}

export function statusError(status: number, url: string): HttpError {
  if (status === 404 || status === 410)
    return new HttpError(`not found on the mirror (HTTP ${status})`, url, false, status);
  const retry = status >= 500 || status === 429 || status === 408;
  return new HttpError(`the mirror answered HTTP ${status}`, url, retry, status);
}

/** A small text file (a release index, a checksum, a signature), at most `limit` bytes. */
export async function fetchText(url: string, options: OpenOptions, limit = 4 << 20): Promise<string> {
  const response = await open(url, options);
  if (response.status !== 200) {
    response.discard();
    throw statusError(response.status, url);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > limit) {
        response.discard();
        throw new HttpError(`the file is larger than ${limit} bytes`, url, false, null);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (options.signal?.aborted) throw new CancelledError();
    throw describeNetworkError(error, url, options.timeouts);
  }
  return Buffer.concat(chunks).toString('utf8');
}
