import type { MirrorJobOptions } from './mirror-job.js';
import { rm } from 'node:fs/promises';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import { ReleaseCache, cacheUnavailable, type CacheEntry } from './cache.js';
import {
  branchOf,
  checkReleaseQuery,
  compareVersions,
  parseCatalog,
  pickRelease,
  releaseFileName,
  type Board,
  type Release,
  type ReleaseWanted,
} from './catalog.js';
import { download } from './download.js';
import { describeSigner, signersOf } from './fingerprint.js';
import {
  createDispatcher,
  DEFAULT_TIMEOUTS,
  fetchText,
  hostOf,
  HttpError,
  type HttpTimeouts,
  type OpenOptions,
} from './http.js';
import { catalogUrl, DEFAULT_MIRROR, releasesUrl } from './mirror.js';
import { DEFAULT_RETRY, retryNote, withRetries, type RetryPolicy } from './retry.js';
import { trustedKeys, trustedSigner, verifySignature, type TrustedKeys } from './signature.js';

export interface FetchReleaseOptions extends MirrorJobOptions {
  board: Board;
  arch: string;
  /** x86 ISO flavor. */
  flavor?: string;
  /** netboot: Alpine's netboot tarball of the arch instead of the board's card media. */
  media?: 'card' | 'netboot';
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
  now?: () => number;
}

export interface FetchedRelease {
  path: string;
  fileName: string;
  version: string;
  branch: string;
  sha256: string;
  size: number;
  /** Fingerprint of the trusted key whose signature over the file was checked. */
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

/** What every step of a fetch shares. */
interface Fetch {
  options: FetchReleaseOptions;
  target: ReleaseWanted;
  cache: ReleaseCache;
  http: OpenOptions;
  mirrors: string[];
  trusted: TrustedKeys;
  retry: RetryPolicy;
  note: (text: string) => void;
}

const RUN_ONLINE_FIRST = 'run once with network access first (without --offline)';

/**
 * A release index from the first mirror that has it, saved in the cache under that mirror;
 * or null, with why each mirror failed.
 */
async function fetchCatalog(
  fetch: Pick<Fetch, 'cache' | 'http' | 'mirrors' | 'retry' | 'note'>,
  branch: string,
  arch: string,
  signal: AbortSignal | undefined,
): Promise<{
  found: { releases: Release[]; url: string } | null;
  failures: string[];
  /** Mirrors that did not answer at all. */
  unreachable: Set<string>;
  /** Every mirror answered "not found". */
  allMissing: boolean;
}> {
  const failures: string[] = [];
  const unreachable = new Set<string>();
  let allMissing = true;
  for (const mirror of fetch.mirrors) {
    const url = catalogUrl(mirror, branch, arch);
    try {
      const text = await withRetries(
        fetch.retry,
        signal,
        () => fetchText(url, fetch.http),
        (event) => fetch.note(retryNote('reading the release index', event)),
      );
      const releases = parseCatalog(text, url); // only a valid index is kept
      await fetch.cache.saveCatalog(mirror, branch, arch, text);
      return { found: { releases, url }, failures, unreachable, allMissing: false };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      failures.push(`${url}: ${error.message}`);
      if (error.status === null) unreachable.add(mirror);
      if (error.status !== 404 && error.status !== 410) allMissing = false;
    }
  }
  return { found: null, failures, unreachable, allMissing };
}

function noSuchBranch(branch: string, arch: string, mirror: string, failures: string[]): AppError {
  return new AppError(
    'not-found',
    `the mirror has no branch ${branch} (no release index for ${arch}):\n  ${failures.join('\n  ')}`,
    {
      location: catalogUrl(mirror, branch, arch),
      hint:
        'use latest-stable, edge or a release branch the mirror has, such as v3.22 (apkovl releases --branch v3.22 ' +
        `--arch ${arch} lists its releases); a mirror URL ends in /alpine, as ${DEFAULT_MIRROR}`,
    },
  );
}

function unreadableCatalog(mirror: string, branch: string, arch: string, failures: string[]): AppError {
  return new AppError('io', `cannot read the release index:\n  ${failures.join('\n  ')}`, {
    location: catalogUrl(mirror, branch, arch),
    hint: 'check the network (and HTTPS_PROXY), or name another mirror with --mirror; --offline uses the cache only',
  });
}

/**
 * Offline: the newest release of the target among every cached release index of the branch,
 * whichever mirror it came from (by version, then by the index's file time), whose file is in
 * the cache and signed by a key trusted now; failing that, the newest that is cached (refused
 * later, naming its key), or the newest listed (refused later as not cached).
 */
async function resolveOffline(fetch: Fetch, branch: string): Promise<Wanted> {
  const { cache, options, target, trusted } = fetch;
  const isTrusted = (entry: CacheEntry) => trustedSigner(trusted, signersOf(entry)) !== null;
  if (options.version !== undefined) {
    const fileName = releaseFileName(target, options.version);
    const entries = (await cache.list())
      .filter((entry) => entry.fileName === fileName)
      .sort((left, right) => right.verifiedAt.localeCompare(left.verifiedAt));
    const entry = entries.find(isTrusted) ?? entries[0];
    if (entry === undefined) {
      throw new AppError('not-found', `${fileName} is not in the cache`, {
        location: '--offline',
        hint: RUN_ONLINE_FIRST,
      });
    }
    return { fileName, version: options.version, branch, sha256: entry.sha256, size: entry.size };
  }
  const catalogs = await cache.catalogs(branch, options.arch);
  if (catalogs.length === 0) {
    throw new AppError('not-found', `no release index of ${branch}/${options.arch} is cached`, {
      location: '--offline',
      hint: `${RUN_ONLINE_FIRST}, or pin a cached release with --version (apkovl cache ls lists them)`,
    });
  }
  const candidates: { release: Release; mtimeMs: number; source: string }[] = [];
  let refusal: AppError | null = null;
  for (const catalog of catalogs) {
    try {
      const release = pickRelease(parseCatalog(catalog.text, catalog.path), target, catalog.path);
      candidates.push({ release, mtimeMs: catalog.mtimeMs, source: catalog.path });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      refusal ??= error; // a damaged index, or one without this target: the others may do
    }
  }
  const newest = candidates.sort(
    (left, right) => compareVersions(right.release.version, left.release.version) || right.mtimeMs - left.mtimeMs,
  )[0];
  if (newest === undefined) throw refusal ?? new AppError('internal', 'no cached release index was read');
  let cachedButUntrusted: { candidate: typeof newest; entry: CacheEntry } | null = null;
  let chosen: typeof newest | null = null;
  for (const candidate of candidates) {
    const entry = await cache.peek(candidate.release.sha256);
    if (entry === null) continue;
    if (isTrusted(entry)) {
      chosen = candidate;
      break;
    }
    cachedButUntrusted ??= { candidate, entry };
  }
  const pick = chosen ?? cachedButUntrusted?.candidate ?? newest;
  if (pick !== newest && pick.release.file !== newest.release.file) {
    const why =
      cachedButUntrusted?.candidate === newest
        ? `is cached but signed by ${describeSigner(cachedButUntrusted.entry.signedBy)}, which is not trusted now`
        : 'is not in the cache';
    fetch.note(
      `offline: using ${pick.release.file}, the newest usable in the cache; ${newest.release.file} (listed in ${newest.source}) ${why}`,
    );
  }
  const { release } = pick;
  return {
    fileName: release.file,
    version: release.version,
    branch: release.branch,
    sha256: release.sha256,
    size: release.size,
  };
}

/** Find the file a target needs: from the release index, or by its name and .sha256 when pinned. */
async function resolve(fetch: Fetch): Promise<Wanted> {
  const { options, target, mirrors, http, retry } = fetch;
  const branch = options.version !== undefined ? branchOf(options.version) : (options.branch ?? 'latest-stable');
  if (options.offline) return resolveOffline(fetch, branch);
  const first = mirrors[0] as string;
  const index = await fetchCatalog(fetch, branch, options.arch, options.signal);
  if (index.found === null) {
    if (index.allMissing) throw noSuchBranch(branch, options.arch, first, index.failures);
    // A pinned version may be found by its .sha256 even without an index, unless no mirror answers.
    if (options.version === undefined || index.unreachable.size === mirrors.length)
      throw unreadableCatalog(first, branch, options.arch, index.failures);
  }
  const catalog = index.found?.releases ?? null;
  if (options.version === undefined) {
    const release = pickRelease(catalog ?? [], target, index.found?.url ?? catalogUrl(first, branch, options.arch));
    return {
      fileName: release.file,
      version: release.version,
      branch: release.branch,
      sha256: release.sha256,
      size: release.size,
    };
  }
  const fileName = releaseFileName(target, options.version);
  const listed = catalog?.find((release) => release.file === fileName);
  if (listed) return { fileName, version: options.version, branch, sha256: listed.sha256, size: listed.size };
  // Not the newest of its branch: the index no longer lists it; its .sha256 file does.
  const failures: string[] = [];
  let unreachable = true;
  for (const mirror of mirrors.filter((mirror) => !index.unreachable.has(mirror))) {
    const url = `${releasesUrl(mirror, branch, options.arch, fileName)}.sha256`;
    try {
      const text = await withRetries(
        retry,
        options.signal,
        () => fetchText(url, http, 4096),
        (event) => fetch.note(retryNote('reading the checksum', event)),
      );
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
    throw new AppError('io', `cannot reach the mirror:\n  ${[...index.failures, ...failures].join('\n  ')}`, {
      location: first,
      hint: 'check the network (and HTTPS_PROXY), or name another mirror with --mirror; --offline uses the cache only',
    });
  }
  throw new AppError('not-found', `cannot find ${fileName}:\n  ${failures.join('\n  ')}`, {
    location: releasesUrl(first, branch, options.arch, fileName),
    hint: 'check the version (apkovl releases lists the current ones)',
  });
}

function fromEntry(entry: CacheEntry, wanted: Wanted, signedBy: string, fromCache: boolean): FetchedRelease {
  return {
    path: entry.path,
    fileName: entry.fileName,
    version: wanted.version,
    branch: wanted.branch,
    sha256: entry.sha256,
    size: entry.size,
    signedBy,
    fromCache,
  };
}

function untrustedCopy(fetch: Fetch, entry: CacheEntry, detail: string, location: string, hint: string): AppError {
  const signers = signersOf(entry).map(describeSigner).join(' and ');
  return new AppError(
    'not-found',
    `the cached ${entry.fileName} was verified with ${signers}, which is not the ${fetch.trusted.description}${detail}`,
    { location, hint },
  );
}

/**
 * A cached file may be used only while a key that signed it is trusted: Alpine's (the default)
 * or the --trusted-key given now. Media fetched from a private mirror with its key are not
 * used without that key. Offline that is an error naming the key; online the mirror's
 * signature is checked again against the keys trusted now, and recorded when it holds.
 */
async function useCached(fetch: Fetch, entry: CacheEntry, wanted: Wanted): Promise<FetchedRelease> {
  const signer = trustedSigner(fetch.trusted, signersOf(entry));
  if (signer !== null) return fromEntry(entry, wanted, signer, true);
  const { options, mirrors, http, retry, cache } = fetch;
  if (options.offline) {
    throw untrustedCopy(
      fetch,
      entry,
      '',
      '--offline',
      `to use this copy (from ${hostOf(entry.url)}), give that key again with --trusted-key FILE; ` +
        "without --offline, the mirror's signature is checked against the key trusted now",
    );
  }
  fetch.note(
    `the cached ${entry.fileName} was verified with ${describeSigner(entry.signedBy)}; checking the mirror's signature against the ${fetch.trusted.description}`,
  );
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const url = `${releasesUrl(mirror, wanted.branch, options.arch, wanted.fileName)}.asc`;
    try {
      const armored = await withRetries(
        retry,
        options.signal,
        () => fetchText(url, http, 64 * 1024),
        (event) => fetch.note(retryNote('reading the signature', event)),
      );
      const checkedBy = await verifySignature(entry.path, armored, fetch.trusted, url);
      const updated = (await cache.addSigner(entry.sha256, checkedBy)) ?? entry;
      return fromEntry(updated, wanted, checkedBy, true);
    } catch (error) {
      if (!(error instanceof AppError) || error instanceof CancelledError) throw error;
      failures.push(`${url}: ${error.message}`);
    }
  }
  throw untrustedCopy(
    fetch,
    entry,
    `, and no mirror has a signature of it by a trusted key:\n  ${failures.join('\n  ')}`,
    `${releasesUrl(mirrors[0] as string, wanted.branch, options.arch, wanted.fileName)}.asc`,
    'give the key it was verified with using --trusted-key FILE (the cached copy is kept)',
  );
}

/**
 * The boot media a target needs, verified and cached: release index -> cache -> download
 * (resumable, retried, mirror fallback) -> size, SHA-256 and OpenPGP signature checks ->
 * cache. Prints nothing; progress and notes go to the callbacks.
 */
export async function fetchRelease(options: FetchReleaseOptions): Promise<FetchedRelease> {
  checkReleaseQuery(options);
  const mirrors = options.mirrors && options.mirrors.length > 0 ? options.mirrors : [DEFAULT_MIRROR];
  const cache = new ReleaseCache(options.cacheDir);
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const fetch: Fetch = {
    options,
    target: {
      board: options.board,
      arch: options.arch,
      ...(options.flavor !== undefined ? { flavor: options.flavor } : {}),
      ...(options.media !== undefined ? { media: options.media } : {}),
    },
    cache,
    http: { dispatcher: createDispatcher(options.env, timeouts), timeouts, signal: options.signal },
    mirrors,
    trusted: await trustedKeys(options.trustedKeyFile),
    retry: options.retry ?? DEFAULT_RETRY,
    note: options.onNote ?? (() => undefined),
  };
  const { http } = fetch;
  const wanted = await resolve(fetch).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EROFS')
      throw cacheUnavailable(options.cacheDir, error);
    throw error;
  });
  const cached = await cache.lookup(wanted.sha256);
  if (cached !== null) return useCached(fetch, cached, wanted);
  if (options.offline) {
    throw new AppError('not-found', `${wanted.fileName} is not in the cache`, {
      location: '--offline',
      hint: RUN_ONLINE_FIRST,
    });
  }
  const trusted = fetch.trusted;
  const urls = mirrors.map((mirror) => releasesUrl(mirror, wanted.branch, options.arch, wanted.fileName));
  return cache.withLock(
    wanted.sha256,
    async () => {
      const again = await cache.lookup(wanted.sha256); // another process may have fetched it meanwhile
      if (again !== null) return useCached(fetch, again, wanted);
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
          retry: fetch.retry,
          onProgress: (bytes) => meter?.update(bytes),
          onRetry: fetch.note,
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
        const armored = await withRetries(
          fetch.retry,
          options.signal,
          () => fetchText(signatureUrl, http, 64 * 1024),
          (event) => fetch.note(retryNote('reading the signature', event)),
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
        return fromEntry(entry, wanted, signedBy, false);
      } finally {
        await rm(temporary, { force: true });
      }
    },
    options.signal,
    () => fetch.note(`waiting for another apkovl process that is downloading ${wanted.fileName}`),
  );
}

/** The releases of a branch and architecture, as the index lists them. */
export async function listReleases(options: {
  mirror?: string;
  branch?: string;
  arch: string;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  onNote?: (text: string) => void;
  timeouts?: HttpTimeouts;
  retry?: RetryPolicy;
}): Promise<{ url: string; releases: Release[] }> {
  const branch = options.branch ?? 'latest-stable';
  checkReleaseQuery({ arch: options.arch, branch });
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const mirror = options.mirror ?? DEFAULT_MIRROR;
  const url = catalogUrl(mirror, branch, options.arch);
  const http: OpenOptions = { dispatcher: createDispatcher(options.env, timeouts), timeouts, signal: options.signal };
  const text = await withRetries(
    options.retry ?? DEFAULT_RETRY,
    options.signal,
    () => fetchText(url, http),
    (event) => options.onNote?.(retryNote('reading the release index', event)),
  ).catch((error: unknown) => {
    if (!(error instanceof HttpError)) throw error;
    const failures = [`${url}: ${error.message}`];
    if (error.status === 404 || error.status === 410) throw noSuchBranch(branch, options.arch, mirror, failures);
    throw unreadableCatalog(mirror, branch, options.arch, failures);
  });
  return { url, releases: parseCatalog(text, url) };
}
