import { mirrorJob, type MirrorJobOptions } from '../releases/mirror-job.js';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import { ReleaseCache, cacheUnavailable } from '../releases/cache.js';
import { download } from '../releases/download.js';
import { createDispatcher, DEFAULT_TIMEOUTS } from '../releases/http.js';
import { DEFAULT_RETRY } from '../releases/retry.js';
import { cacheIndexName, cachePackageName } from './cache-names.js';
import { readCachePointer, saveCachePointer } from './cache-pointer.js';
import { apkRepositoryUrl, fetchApkIndexes, verifyApkFile } from './index-fetch.js';
import { parseApkIndex } from './index-parse.js';
import { resolvePackages, type ResolvedPackage } from './resolve.js';

/**
 * The packages of an offline machine (`alpine.offline`), for the card's apk cache: the signed
 * indexes of the definition's repositories, the world resolved against them, and every package
 * the boot media do not carry, downloaded (or taken from the download cache), checked against
 * its index entry, and named as apk looks for it in /etc/apk/cache without network.
 */

export interface OfflineRepository {
  /** The line of etc/apk/repositories, e.g. https://dl-cdn.alpinelinux.org/alpine/v3.22/main. */
  line: string;
  /** main, community... */
  name: string;
}

export interface OfflinePackagesOptions extends MirrorJobOptions {
  branch: string;
  arch: string;
  mirror: string;
  repositories: OfflineRepository[];
  world: string[];
  /** `<name>-<version>.apk` files of the boot media's apks/<arch>/ folder. */
  mediaApks: ReadonlySet<string>;
  apkKeys: readonly string[];
  cacheDir: string;
  /** Use only what the download cache holds. */
  offline: boolean;
  /** Resolve and count only: the indexes are fetched, the packages are not (apkovl validate --packages). */
  resolveOnly?: boolean;
}

/** A file for the card's cache/ folder. */
export interface CacheFile {
  /** Name inside cache/. */
  name: string;
  /** The verified file in the download cache. */
  source: string;
  size: number;
}

export interface OfflinePackages {
  /** Signed indexes (APKINDEX.<hash>.tar.gz), then packages (<name>-<version>.<hash>.apk). */
  files: CacheFile[];
  /** Packages resolved for the world (including those on the boot media). */
  resolved: number;
  /** Packages taken onto the card, and their bytes. */
  packages: number;
  packageBytes: number;
  /** Bytes of the indexes. */
  indexBytes: number;
  /** Resolved packages already on the boot media (name-version). */
  onBootMedia: string[];
}

function pointerPath(cache: ReleaseCache, arch: string, cacheName: string): string {
  return path.join(cache.directory, 'apk-packages', arch, `${cacheName}.json`);
}

/** The package in the download cache, checked again against its index entry; null when absent or stale. */
async function cachedPackage(cache: ReleaseCache, pkg: ResolvedPackage, cacheName: string, arch: string) {
  const pointer = await readCachePointer(pointerPath(cache, arch, cacheName));
  if (pointer === null) return null;
  const entry = await cache.lookup(pointer.sha256);
  if (entry === null) return null;
  try {
    await verifyApkFile(entry.path, pkg);
    return entry.path;
  } catch {
    return null;
  }
}

async function fetchPackage(
  options: PackageFetchOptions,
  cache: ReleaseCache,
  pkg: ResolvedPackage,
  cacheName: string,
  repository: OfflineRepository,
): Promise<string> {
  const fileName = `${pkg.name}-${pkg.version}.apk`;
  const url = apkRepositoryUrl(options.mirror, options.branch, repository.name, options.arch, fileName);
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const temporary = await cache.temporaryPath(fileName);
  try {
    let meter: ProgressMeter | null = null;
    const result = await download({
      dispatcher: createDispatcher(options.env, timeouts),
      timeouts,
      ...(options.signal ? { signal: options.signal } : {}),
      urls: [url],
      destination: temporary,
      expectedSize: pkg.size,
      retry: options.retry ?? DEFAULT_RETRY,
      onProgress: (bytes, total) => {
        if (options.onProgress === undefined) return;
        meter ??= new ProgressMeter({
          phase: 'download',
          label: `Downloading ${fileName}`,
          total: total ?? pkg.size,
          listener: options.onProgress,
          now: () => performance.now(),
        });
        meter.update(bytes);
      },
      ...(options.onNote ? { onRetry: options.onNote } : {}),
    });
    (meter as ProgressMeter | null)?.finish();
    await verifyApkFile(temporary, pkg).catch((error: unknown) => {
      if (error instanceof AppError) {
        throw new AppError(error.code, `${fileName} from ${result.url}: ${error.message}`, {
          location: (error.location ?? result.url).replace(temporary, result.url),
          hint: `${error.hint ?? ''} (the download was deleted; nothing was cached or written)`.trim(),
        });
      }
      throw error;
    });
    const entry = await cache.commit(temporary, {
      fileName,
      sha256: result.sha256,
      size: result.size,
      url: result.url,
      signedBy: `apk index ${repository.line}`,
    });
    await saveCachePointer(pointerPath(cache, options.arch, cacheName), { sha256: result.sha256, url: result.url });
    return entry.path;
  } finally {
    await rm(temporary, { force: true });
  }
}

/** What fetching one package takes: the mirror, branch and arch, the cache, and the job's options. */
export type PackageFetchOptions = Pick<
  OfflinePackagesOptions,
  | 'branch'
  | 'arch'
  | 'mirror'
  | 'cacheDir'
  | 'offline'
  | 'env'
  | 'signal'
  | 'onProgress'
  | 'onNote'
  | 'timeouts'
  | 'retry'
>;

/**
 * One package checked against its entry in a verified index: from the download cache when it
 * holds it (checked again), else downloaded, checked and cached. Returns the cached file.
 */
export async function verifiedPackageFile(
  options: PackageFetchOptions,
  pkg: Pick<ResolvedPackage, 'name' | 'version' | 'size' | 'checksum' | 'checksumBytes'>,
  repository: OfflineRepository,
): Promise<string> {
  const cache = new ReleaseCache(options.cacheDir);
  const cacheName = cachePackageName(pkg.name, pkg.version, pkg.checksumBytes);
  const full = {
    ...pkg,
    repository: repository.name,
    chain: [],
    reason: 'required',
    installedSize: 0,
  } as ResolvedPackage;
  try {
    const cached = await cachedPackage(cache, full, cacheName, options.arch);
    if (cached !== null) return cached;
    if (options.offline) {
      throw new AppError(
        'not-found',
        `${pkg.name}-${pkg.version}.apk (${repository.line}) is not in the download cache`,
        {
          location: '--offline',
          hint: 'run the build once with network access first (without --offline)',
        },
      );
    }
    return await fetchPackage(options, cache, full, cacheName, repository);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS') throw cacheUnavailable(options.cacheDir, error);
    throw error;
  }
}

export async function offlinePackages(options: OfflinePackagesOptions): Promise<OfflinePackages> {
  const indexes = await fetchApkIndexes({
    branch: options.branch,
    arch: options.arch,
    repositories: options.repositories.map((repository) => repository.name),
    mirrors: [options.mirror],
    apkKeys: options.apkKeys,
    cacheDir: options.cacheDir,
    offline: options.offline,
    ...mirrorJob(options),
  });
  const byName = new Map(options.repositories.map((repository) => [repository.name, repository]));
  const resolution = resolvePackages({
    indexes: indexes.map((index) => parseApkIndex(index.text, { source: index.repository })),
    world: options.world,
    base: ['alpine-base'],
    arch: options.arch,
  });
  const files: CacheFile[] = indexes.map((index) => ({
    name: cacheIndexName((byName.get(index.repository) as OfflineRepository).line),
    source: index.path,
    size: index.size,
  }));
  const onBootMedia: string[] = [];
  const cache = new ReleaseCache(options.cacheDir);
  let packageBytes = 0;
  let packages = 0;
  try {
    for (const pkg of resolution.packages) {
      const fileName = `${pkg.name}-${pkg.version}.apk`;
      if (options.mediaApks.has(fileName)) {
        onBootMedia.push(`${pkg.name}-${pkg.version}`);
        continue;
      }
      const repository = byName.get(pkg.repository);
      if (repository === undefined) throw new AppError('internal', `no repository named ${pkg.repository}`);
      if (options.resolveOnly === true) {
        packages += 1;
        packageBytes += pkg.size;
        continue;
      }
      const cacheName = cachePackageName(pkg.name, pkg.version, pkg.checksumBytes);
      let source = await cachedPackage(cache, pkg, cacheName, options.arch);
      if (source === null) {
        if (options.offline) {
          throw new AppError('not-found', `${fileName} (${repository.line}) is not in the download cache`, {
            location: '--offline',
            hint: 'run the build once with network access first (without --offline)',
          });
        }
        source = await fetchPackage(options, cache, pkg, cacheName, repository);
      }
      files.push({ name: cacheName, source, size: pkg.size });
      packages += 1;
      packageBytes += pkg.size;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS') throw cacheUnavailable(options.cacheDir, error);
    throw error;
  }
  return {
    files,
    resolved: resolution.packages.length,
    packages,
    packageBytes,
    indexBytes: indexes.reduce((sum, index) => sum + index.size, 0),
    onBootMedia,
  };
}
