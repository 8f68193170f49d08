import type { MirrorJobOptions } from '../releases/mirror-job.js';
import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { AppError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import { displayText } from '../../../shared/rules/display.js';
import { readCachePointer, saveCachePointer, type CachePointer } from './cache-pointer.js';
import { bufferRange, gzipMemberEnd, withFileRange, type ByteRange } from '../boot-media/gzip-end.js';
import { bufferSource, TarFormatError, TarReader } from '../boot-media/tar-reader.js';
import { ReleaseCache, cacheUnavailable } from '../releases/cache.js';
import { checkReleaseQuery } from '../releases/catalog.js';
import { download } from '../releases/download.js';
import { createDispatcher, DEFAULT_TIMEOUTS, type OpenOptions } from '../releases/http.js';
import { DEFAULT_MIRROR } from '../releases/mirror.js';
import { DEFAULT_RETRY } from '../releases/retry.js';
import {
  ApkSignatureError,
  apkKeyring,
  verifyApkSignature,
  type ApkKeyring,
  type ApkSignatureType,
} from './signature.js';

/**
 * Package repository indexes (APKINDEX.tar.gz) from a mirror: downloaded through the release
 * downloader (resume, retries, mirror fallback, progress), their apk signature checked against
 * Alpine's keys for the architecture (and --apk-key files) before they enter the cache, and
 * the APKINDEX text taken out. And the check of a downloaded package against its index entry.
 */

export const APK_INDEX_FILE = 'APKINDEX.tar.gz';

/** <mirror>/<branch>/<repository>/<arch>/<file>, as on dl-cdn.alpinelinux.org/alpine. */
export function apkRepositoryUrl(mirror: string, branch: string, repository: string, arch: string, file: string) {
  return `${mirror.replace(/\/+$/, '')}/${branch}/${repository}/${arch}/${file}`;
}

export interface FetchApkIndexOptions extends MirrorJobOptions {
  /** latest-stable, edge or vX.Y. */
  branch: string;
  arch: string;
  /** main, community, testing, or a private repository's folder name. */
  repositories: readonly string[];
  /** Mirrors, tried in order; default dl-cdn.alpinelinux.org. */
  mirrors?: readonly string[];
  /** Extra trusted RSA public keys (PEM files), each under its file's base name (--apk-key). */
  apkKeys?: readonly string[];
  cacheDir: string;
  /** Use only the indexes the cache holds from an earlier fetch. */
  offline?: boolean;
  now?: () => number;
}

export interface ApkIndex {
  repository: string;
  branch: string;
  arch: string;
  /** Where it was downloaded from. */
  url: string;
  /** The APKINDEX member, as text. */
  text: string;
  /** The DESCRIPTION member (e.g. "v3.22.2-12-g0123abcd"), or null when absent. */
  description: string | null;
  /** SHA-256 of the APKINDEX.tar.gz bytes as downloaded. */
  sha256: string;
  size: number;
  /** The trusted key whose signature was checked (its file name). */
  keyName: string;
  signatureType: ApkSignatureType;
  /** The verified file in the cache. */
  path: string;
  fromCache: boolean;
}

const REPOSITORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Larger than any real index (community: about 1.5 MB compressed, 8 MB inflated). */
const MAX_INDEX_BYTES = 256 << 20;
const MAX_INDEX_TEXT = 512 << 20;

interface Pointer extends CachePointer {
  keyName: string;
  fetchedAt: string;
}

/** The cache's record of the last verified index of a repository (for --offline). */
function pointerPath(cache: ReleaseCache, mirror: string, branch: string, repository: string, arch: string): string {
  const host = mirror.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_');
  return path.join(cache.directory, 'apk-indexes', host, branch, repository, `${arch}.json`);
}

/**
 * The APKINDEX and DESCRIPTION members of the signed member of an index (bytes
 * `signedStart`..`signedEnd` of `range`). Throws when APKINDEX is missing or the tar is damaged.
 */
export async function readApkIndexMembers(
  range: ByteRange,
  signedStart: number,
  signedEnd: number,
  source: string,
): Promise<{ text: string; description: string | null }> {
  let inflated: Buffer;
  try {
    inflated = zlib.gunzipSync(await range.read(signedStart, signedEnd - signedStart), {
      maxOutputLength: MAX_INDEX_TEXT,
    });
  } catch (error) {
    throw new AppError('invalid-media', `the index cannot be inflated: ${(error as Error).message}`, {
      location: `${source}, bytes ${signedStart}-${signedEnd - 1}`,
      hint: 'download it again, or use another mirror',
      cause: error,
    });
  }
  const reader = new TarReader(bufferSource(inflated));
  let text: string | null = null;
  let description: string | null = null;
  try {
    for (let member = await reader.next(); member !== null; member = await reader.next()) {
      if (member.type !== 'file' || (member.name !== 'APKINDEX' && member.name !== 'DESCRIPTION')) continue;
      const chunks: Buffer[] = [];
      for (let piece = await reader.read(); piece !== null; piece = await reader.read())
        chunks.push(Buffer.from(piece));
      const value = Buffer.concat(chunks).toString('utf8');
      if (member.name === 'APKINDEX') text = value;
      else description = value.trim();
    }
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    throw new AppError('invalid-media', `the index's tar is damaged: ${error.message}`, {
      location: `${source}, byte ${error.offset} of the inflated index`,
      hint: 'download it again, or use another mirror',
      cause: error,
    });
  }
  if (text === null) {
    throw new AppError('invalid-media', 'the index holds no APKINDEX member', {
      location: source,
      hint: 'this is not an apk repository index; check the mirror URL (it ends in /alpine)',
    });
  }
  return { text, description };
}

/**
 * Verify a signed APKINDEX.tar.gz in memory or on disk and take its text out: the signature
 * against the keyring, then the members.
 */
export async function openApkIndex(
  range: ByteRange,
  keyring: ApkKeyring,
  source: string,
): Promise<{ text: string; description: string | null; keyName: string; signatureType: ApkSignatureType }> {
  const verified = await verifyApkSignature(range, keyring, source, { wholeFile: true });
  const members = await readApkIndexMembers(range, verified.signedStart, verified.signedEnd, source);
  return { ...members, keyName: verified.keyName, signatureType: verified.type };
}

interface Context {
  options: FetchApkIndexOptions;
  cache: ReleaseCache;
  http: OpenOptions;
  mirrors: readonly string[];
  keyring: ApkKeyring;
  note: (text: string) => void;
}

/** The last verified index of a repository in the cache, checked again against the keys trusted now. */
async function fromCache(context: Context, repository: string): Promise<ApkIndex> {
  const { options, cache, keyring } = context;
  const failures: string[] = [];
  for (const mirror of context.mirrors) {
    const pointer = await readCachePointer(pointerPath(cache, mirror, options.branch, repository, options.arch));
    if (pointer === null) {
      failures.push(
        `${apkRepositoryUrl(mirror, options.branch, repository, options.arch, APK_INDEX_FILE)}: not cached`,
      );
      continue;
    }
    const entry = await cache.lookup(pointer.sha256);
    if (entry === null) {
      failures.push(`${pointer.url}: the cached copy is gone`);
      continue;
    }
    const opened = await withFileRange(entry.path, (range) => openApkIndex(range, keyring, entry.path));
    return {
      repository,
      branch: options.branch,
      arch: options.arch,
      url: pointer.url,
      ...opened,
      sha256: entry.sha256,
      size: entry.size,
      path: entry.path,
      fromCache: true,
    };
  }
  throw new AppError(
    'not-found',
    `the ${repository} index of ${options.branch}/${options.arch} is not in the cache:\n  ${failures.join('\n  ')}`,
    { location: '--offline', hint: 'run once with network access first (without --offline)' },
  );
}

async function fromMirror(context: Context, repository: string): Promise<ApkIndex> {
  const { options, cache, keyring, http } = context;
  const urls = context.mirrors.map((mirror) =>
    apkRepositoryUrl(mirror, options.branch, repository, options.arch, APK_INDEX_FILE),
  );
  const temporary = await cache.temporaryPath(APK_INDEX_FILE);
  try {
    const now = options.now ?? (() => performance.now());
    let meter: ProgressMeter | null = null;
    const label = `Downloading the ${repository} index (${options.branch}/${options.arch})`;
    const result = await download({
      ...http,
      urls,
      destination: temporary,
      retry: options.retry ?? DEFAULT_RETRY,
      onProgress: (bytes, total) => {
        if (options.onProgress === undefined) return;
        meter ??= new ProgressMeter({ phase: 'download', label, total, listener: options.onProgress, now });
        meter.update(bytes);
      },
      onRetry: context.note,
    });
    (meter as ProgressMeter | null)?.finish();
    if (result.size > MAX_INDEX_BYTES) {
      throw new AppError('invalid-media', `the index is ${result.size} bytes: far larger than any apk index`, {
        location: result.url,
        hint: 'check the mirror URL; the file was deleted',
      });
    }
    options.onProgress?.({
      phase: 'verify',
      label: `Checking the signature of the ${repository} index`,
      bytes: 0,
      total: null,
      bytesPerSecond: null,
      etaSeconds: null,
    });
    const data = await readFile(temporary);
    const opened = await openApkIndex(bufferRange(data), keyring, result.url).catch((error: unknown) => {
      if (error instanceof ApkSignatureError) {
        throw new ApkSignatureError(error.problem, error.message, {
          location: error.location ?? result.url,
          hint: `${error.hint ?? 'download it again'} (the download was deleted; nothing was cached)`,
        });
      }
      throw error;
    });
    const entry = await cache.commit(temporary, {
      fileName: APK_INDEX_FILE,
      sha256: result.sha256,
      size: result.size,
      url: result.url,
      signedBy: opened.keyName,
    });
    const mirror = context.mirrors[Math.max(0, urls.indexOf(result.url))] ?? DEFAULT_MIRROR;
    await saveCachePointer<Pointer>(pointerPath(cache, mirror, options.branch, repository, options.arch), {
      sha256: result.sha256,
      url: result.url,
      keyName: opened.keyName,
      fetchedAt: new Date().toISOString(),
    });
    return {
      repository,
      branch: options.branch,
      arch: options.arch,
      url: result.url,
      ...opened,
      sha256: result.sha256,
      size: result.size,
      path: entry.path,
      fromCache: false,
    };
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * The indexes of some repositories of one branch and architecture, verified: each downloaded
 * (or, with `offline`, taken from the cache and its signature checked again with the keys
 * trusted now), in the order asked. A file whose signature fails is deleted and never cached.
 */
export async function fetchApkIndexes(options: FetchApkIndexOptions): Promise<ApkIndex[]> {
  checkReleaseQuery({ arch: options.arch, branch: options.branch });
  for (const repository of options.repositories) {
    if (!REPOSITORY_PATTERN.test(repository)) {
      throw new AppError('usage', `"${displayText(repository)}" is not a repository name`, {
        location: 'repositories',
        hint: 'use main, community or testing, or the folder name of a private repository',
      });
    }
  }
  const mirrors = options.mirrors && options.mirrors.length > 0 ? options.mirrors : [DEFAULT_MIRROR];
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const context: Context = {
    options,
    cache: new ReleaseCache(options.cacheDir),
    http: { dispatcher: createDispatcher(options.env, timeouts), timeouts, signal: options.signal },
    mirrors,
    keyring: await apkKeyring(options.arch, options.apkKeys ?? []),
    note: options.onNote ?? (() => undefined),
  };
  const indexes: ApkIndex[] = [];
  for (const repository of options.repositories) {
    try {
      indexes.push(options.offline ? await fromCache(context, repository) : await fromMirror(context, repository));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS') throw cacheUnavailable(options.cacheDir, error);
      throw error;
    }
  }
  return indexes;
}

/** What a package's index entry says about its file. */
export interface ApkIndexEntryRef {
  name: string;
  version: string;
  /** S: the .apk's size in bytes. */
  size: number;
  /** C: `Q1` + base64 SHA-1 of the control member. */
  checksum: string;
}

export interface VerifiedApk {
  size: number;
  sha256: string;
  /** The control member's checksum in the index's form (`Q1...`). */
  checksum: string;
  /** SHA-256 of the data member, as the package's .PKGINFO states it and as checked. */
  datahash: string;
}

function apkError(message: string, source: string, entry: ApkIndexEntryRef, where?: string): AppError {
  return new AppError('invalid-media', message, {
    location: where === undefined ? source : `${source}, ${where}`,
    hint: `the file is not the ${entry.name}-${entry.version} the signed index lists (tampered or damaged); delete it and download it again`,
  });
}

/**
 * Check a downloaded .apk against its entry in a verified index: the size (S:), the SHA-1 of
 * its control member (C:, `Q1` + base64) and, as apk does, the SHA-256 of its data member
 * against the `datahash` in the control member's .PKGINFO. The index is signed, C: covers the
 * control member and .PKGINFO's datahash covers the data, so a file that passes is the one the
 * repository's key vouched for, whoever signed the .apk itself.
 */
export async function verifyApkFile(file: string, entry: ApkIndexEntryRef): Promise<VerifiedApk> {
  const info = await stat(file);
  if (info.size !== entry.size) {
    throw apkError(`the file is ${info.size} bytes, the index says ${entry.size} (S:)`, file, entry);
  }
  return withFileRange(file, (range) => verifyApkRange(range, entry, file));
}

/** verifyApkFile over bytes in memory or any byte range. */
export async function verifyApkRange(range: ByteRange, entry: ApkIndexEntryRef, source: string): Promise<VerifiedApk> {
  if (range.size !== entry.size) {
    throw apkError(`the file is ${range.size} bytes, the index says ${entry.size} (S:)`, source, entry);
  }
  const member = async (start: number, number: number, what: string) => {
    const found = await gzipMemberEnd(range, start, number);
    if (found.kind === 'member') return found;
    const detail =
      found.kind === 'not-gzip'
        ? 'not gzip data'
        : found.kind === 'truncated'
          ? 'the gzip data ends early'
          : `damaged gzip data${found.near === null ? '' : ` near byte ${found.near}`} (${found.message})`;
    throw apkError(`the ${what} is unreadable: ${detail}`, source, entry, `gzip member ${number} from byte ${start}`);
  };
  // Packages are signature, control, data; an unsigned package (apk's --allow-untrusted kind) has no first.
  const first = await member(0, 1, 'first gzip member');
  const head = zlib.gunzipSync(await range.read(0, first.end), { maxOutputLength: 64 << 20 });
  const signed = head.subarray(0, 6).toString('latin1') === '.SIGN.';
  const control = signed ? await member(first.end, 2, 'control member') : first;
  const controlBytes = Buffer.from(await range.read(control.start, control.end - control.start));
  const checksum = `Q1${createHash('sha1').update(controlBytes).digest('base64')}`;
  if (checksum !== entry.checksum) {
    throw apkError(
      `the control member's checksum is ${checksum}, the index says ${entry.checksum} (C:)`,
      source,
      entry,
      `bytes ${control.start}-${control.end - 1}`,
    );
  }
  const controlTar = zlib.gunzipSync(controlBytes, { maxOutputLength: 64 << 20 });
  const reader = new TarReader(bufferSource(controlTar));
  let datahash: string | null = null;
  try {
    for (let tarMember = await reader.next(); tarMember !== null; tarMember = await reader.next()) {
      if (tarMember.name !== '.PKGINFO') continue;
      const chunks: Buffer[] = [];
      for (let piece = await reader.read(); piece !== null; piece = await reader.read())
        chunks.push(Buffer.from(piece));
      datahash = /^datahash = ([0-9a-f]{64})$/m.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? null;
      break;
    }
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    throw apkError(`the control member's tar is damaged: ${error.message}`, source, entry);
  }
  if (datahash === null) {
    throw apkError('the package has no datahash in its .PKGINFO: its data cannot be checked', source, entry);
  }
  const hash = createHash('sha256');
  const PIECE = 1 << 20;
  for (let position = control.end; position < range.size; position += PIECE)
    hash.update(await range.read(position, Math.min(PIECE, range.size - position)));
  const actual = hash.digest('hex');
  if (actual !== datahash) {
    throw apkError(
      `the data member's SHA-256 is ${actual}, the package's .PKGINFO says ${datahash}`,
      source,
      entry,
      `bytes ${control.end}-${range.size - 1}`,
    );
  }
  const whole = createHash('sha256');
  for (let position = 0; position < range.size; position += PIECE)
    whole.update(await range.read(position, Math.min(PIECE, range.size - position)));
  return { size: range.size, sha256: whole.digest('hex'), checksum, datahash };
}
