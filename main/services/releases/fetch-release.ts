import { rm } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import { ReleaseCache, cacheUnavailable, type CacheEntry } from './cache.js';
import { branchOf, parseCatalog, pickRelease, releaseFileName, type Board, type Release } from './catalog.js';
import { download } from './download.js';
import {
  createDispatcher,
  DEFAULT_TIMEOUTS,
  fetchText,
  HttpError,
  type HttpTimeouts,
  type OpenOptions,
} from './http.js';
import { catalogUrl, DEFAULT_MIRROR, releasesUrl } from './mirror.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './retry.js';
import { trustedKeys, verifySignature } from './signature.js';

export interface FetchReleaseOptions {
  board: Board;
  arch: string;
  /** x86 ISO flavor. */
  flavor?: string;
  /** latest-stable (default), edge or vX.Y. */
  branch?: string;
  /** An exact release, e.g. 3.22.2 (then the branch is v3.22). */
  version?: string;
  /** Mirrors, tried in order; default dl-cdn.alpinelinux.org. */
  mirrors?: string[];
  trustedKeyFile?: string;
  cacheDir: string;
  /** Use only what is cached (the release index and the file). */
  offline?: boolean;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Retries, waits and other notes for a person. */
  onNote?: (text: string) => void;
  now?: () => number;
  timeouts?: HttpTimeouts;
  retry?: RetryPolicy;
}

export interface FetchedRelease {
  path: string;
  fileName: string;
  version: string;
  branch: string;
  sha256: string;
  size: number;
  signedBy: string;
  fromCache: boolean;
}

interface Wanted {
  fileName: string;
  version: string;
  branch: string;
  sha256: string;
  size: number | undefined;
}

function fromEntry(entry: CacheEntry, version: string, branch: string, fromCache: boolean): FetchedRelease {
  return {
    path: entry.path,
    fileName: entry.fileName,
    version,
    branch,
    sha256: entry.sha256,
    size: entry.size,
    signedBy: entry.signedBy,
    fromCache,
  };
}

/** Find the file a target needs: from the release index, or by its name and .sha256 when pinned. */
async function resolve(
  options: FetchReleaseOptions,
  cache: ReleaseCache,
  http: OpenOptions,
  mirrors: string[],
): Promise<Wanted> {
  const wanted = {
    board: options.board,
    arch: options.arch,
    ...(options.flavor !== undefined ? { flavor: options.flavor } : {}),
  };
  const branch = options.version !== undefined ? branchOf(options.version) : (options.branch ?? 'latest-stable');
  const retry = options.retry ?? DEFAULT_RETRY;
  let catalog: Release[] | null = null;
  let catalogSource = catalogUrl(mirrors[0] as string, branch, options.arch);
  if (options.offline) {
    const text = await cache.loadCatalog(mirrors[0] as string, branch, options.arch);
    if (text !== null) catalog = parseCatalog(text, cache.catalogPath(mirrors[0] as string, branch, options.arch));
  } else {
    const failures: string[] = [];
    for (const mirror of mirrors) {
      catalogSource = catalogUrl(mirror, branch, options.arch);
      try {
        const text = await withRetries(retry, options.signal, () => fetchText(catalogSource, http));
        catalog = parseCatalog(text, catalogSource);
        await cache.saveCatalog(mirrors[0] as string, branch, options.arch, text);
        break;
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        failures.push(`${catalogSource}: ${error.message}`);
      }
    }
    if (catalog === null && options.version === undefined) {
      throw new AppError('io', `cannot read the release index:\n  ${failures.join('\n  ')}`, {
        location: catalogSource,
        hint: 'check the network, the branch (latest-stable, edge, v3.22), or the mirror (--mirror)',
      });
    }
  }
  if (options.version === undefined) {
    if (catalog === null) {
      throw new AppError('not-found', `no release index of ${branch}/${options.arch} is cached`, {
        location: '--offline',
        hint: 'run once with network access first',
      });
    }
    const release = pickRelease(catalog, wanted, catalogSource);
    return {
      fileName: release.file,
      version: release.version,
      branch: release.branch,
      sha256: release.sha256,
      size: release.size,
    };
  }
  const fileName = releaseFileName(wanted, options.version);
  const listed = catalog?.find((release) => release.file === fileName);
  if (listed) return { fileName, version: options.version, branch, sha256: listed.sha256, size: listed.size };
  if (options.offline) {
    const cached = (await cache.list()).find((entry) => entry.fileName === fileName);
    if (cached) return { fileName, version: options.version, branch, sha256: cached.sha256, size: cached.size };
    throw new AppError('not-found', `${fileName} is not in the cache`, {
      location: '--offline',
      hint: 'run once with network access first',
    });
  }
  // Not the newest of its branch: the index no longer lists it; its .sha256 file does.
  const failures: string[] = [];
  let unreachable = true;
  for (const mirror of mirrors) {
    const url = `${releasesUrl(mirror, branch, options.arch, fileName)}.sha256`;
    try {
      const text = await withRetries(retry, options.signal, () => fetchText(url, http, 4096));
      const sha256 = /^([0-9a-f]{64})\s/.exec(text)?.[1];
      if (sha256 === undefined)
        throw new AppError('invalid-media', 'the .sha256 file holds no SHA-256', { location: url });
      return { fileName, version: options.version, branch, sha256, size: undefined };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      failures.push(`${url}: ${error.message}`);
      if (error.status !== null) unreachable = false;
    }
  }
  if (unreachable) {
    throw new AppError('io', `cannot reach the mirror:\n  ${failures.join('\n  ')}`, {
      location: mirrors[0] as string,
      hint: 'check the network (and HTTPS_PROXY), or name another mirror with --mirror; --offline uses the cache only',
    });
  }
  throw new AppError('not-found', `cannot find ${fileName}:\n  ${failures.join('\n  ')}`, {
    location: releasesUrl(mirrors[0] as string, branch, options.arch, fileName),
    hint: 'check the version (apkovl releases lists the current ones)',
  });
}

/**
 * The boot media a target needs, verified and cached: release index -> cache -> download
 * (resumable, retried, mirror fallback) -> size, SHA-256 and OpenPGP signature checks ->
 * cache. Prints nothing; progress and notes go to the callbacks.
 */
export async function fetchRelease(options: FetchReleaseOptions): Promise<FetchedRelease> {
  const mirrors = options.mirrors && options.mirrors.length > 0 ? options.mirrors : [DEFAULT_MIRROR];
  const cache = new ReleaseCache(options.cacheDir);
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const http: OpenOptions = { dispatcher: createDispatcher(options.env, timeouts), timeouts, signal: options.signal };
  const wanted = await resolve(options, cache, http, mirrors).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EROFS')
      throw cacheUnavailable(options.cacheDir, error);
    throw error;
  });
  const cached = await cache.lookup(wanted.sha256);
  if (cached !== null) return fromEntry(cached, wanted.version, wanted.branch, true);
  if (options.offline) {
    throw new AppError('not-found', `${wanted.fileName} is not in the cache`, {
      location: '--offline',
      hint: 'run once with network access first',
    });
  }
  const trusted = await trustedKeys(options.trustedKeyFile);
  const urls = mirrors.map((mirror) => releasesUrl(mirror, wanted.branch, options.arch, wanted.fileName));
  return cache.withLock(
    wanted.sha256,
    async () => {
      const again = await cache.lookup(wanted.sha256); // another process may have fetched it meanwhile
      if (again !== null) return fromEntry(again, wanted.version, wanted.branch, true);
      const temporary = await cache.temporaryPath(wanted.fileName);
      try {
        const now = options.now ?? (() => performance.now());
        const meter = options.onProgress
          ? new ProgressMeter({
              phase: 'download',
              label: `Downloading ${wanted.fileName}`,
              total: wanted.size ?? null,
              listener: options.onProgress,
              now,
            })
          : null;
        const result = await download({
          ...http,
          urls,
          destination: temporary,
          ...(wanted.size !== undefined ? { expectedSize: wanted.size } : {}),
          retry: options.retry ?? DEFAULT_RETRY,
          onProgress: (bytes) => meter?.update(bytes),
          ...(options.onNote ? { onRetry: options.onNote } : {}),
        });
        meter?.finish();
        if (wanted.size !== undefined && result.size !== wanted.size) {
          throw new AppError(
            'invalid-media',
            `size check failed: got ${result.size} bytes, the release index says ${wanted.size}`,
            {
              location: result.url,
              hint: 'the partial file was deleted; try again or another mirror',
            },
          );
        }
        if (result.sha256 !== wanted.sha256) {
          throw new AppError(
            'invalid-media',
            `checksum check failed: the SHA-256 is ${result.sha256}, the release index says ${wanted.sha256}`,
            {
              location: result.url,
              hint: 'the download was damaged or the mirror serves another file; it was deleted, try again or another mirror',
            },
          );
        }
        options.onProgress?.({
          phase: 'verify',
          label: 'Checking the OpenPGP signature',
          bytes: 0,
          total: null,
          bytesPerSecond: null,
          etaSeconds: null,
        });
        const signatureUrl = `${result.url}.asc`;
        const armored = await withRetries(options.retry ?? DEFAULT_RETRY, options.signal, () =>
          fetchText(signatureUrl, http, 64 * 1024),
        ).catch((error: unknown) => {
          if (error instanceof HttpError && !error.retry) {
            throw new AppError('invalid-media', `signature check failed: no signature (${error.message})`, {
              location: signatureUrl,
              hint: "without Alpine's signature the file cannot be trusted; it was deleted",
            });
          }
          throw error;
        });
        const signedBy = await verifySignature(temporary, armored, trusted, signatureUrl);
        const entry = await cache.commit(temporary, {
          fileName: wanted.fileName,
          sha256: wanted.sha256,
          size: result.size,
          url: result.url,
          signedBy,
        });
        return fromEntry(entry, wanted.version, wanted.branch, false);
      } finally {
        await rm(temporary, { force: true });
      }
    },
    options.signal,
    () => options.onNote?.(`waiting for another apkovl process that is downloading ${wanted.fileName}`),
  );
}

/** The releases of a branch and architecture, as the index lists them. */
export async function listReleases(options: {
  mirror?: string;
  branch?: string;
  arch: string;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  timeouts?: HttpTimeouts;
  retry?: RetryPolicy;
}): Promise<{ url: string; releases: Release[] }> {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const url = catalogUrl(options.mirror ?? DEFAULT_MIRROR, options.branch ?? 'latest-stable', options.arch);
  const http: OpenOptions = { dispatcher: createDispatcher(options.env, timeouts), timeouts, signal: options.signal };
  const text = await withRetries(options.retry ?? DEFAULT_RETRY, options.signal, () => fetchText(url, http));
  return { url, releases: parseCatalog(text, url) };
}
