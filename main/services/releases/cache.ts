import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { signersOf } from './fingerprint.js';
import { sleep } from './retry.js';

export { defaultCacheDir } from './cache-dir.js';

/**
 * The download cache. Content-addressed: a verified file lives at
 * `files/<sha256>/<file name>` with `meta.json` beside it; downloads land in `tmp/` and are
 * renamed into place only after every check passed, so the cache never holds an unverified
 * file. A lock per file keeps two processes from downloading it twice.
 */

export interface CacheEntryMeta {
  fileName: string;
  sha256: string;
  size: number;
  url: string;
  /** Fingerprint of the OpenPGP key whose signature was checked last. */
  signedBy: string;
  /**
   * Every key whose signature over this content was checked (absent in entries written before
   * it was kept: then `signedBy` alone). Cached media may be used only while one is trusted.
   */
  signers?: string[];
  verifiedAt: string;
  /** Unix ms of the last use, for prune. */
  usedAt: string;
  /** What the file looked like when verified: a change means it is hashed again. */
  mtimeMs: number;
  ino: number;
}

export interface CacheEntry extends CacheEntryMeta {
  path: string;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ReleaseCache {
  constructor(readonly directory: string) {}

  private entryDir(sha256: string): string {
    return path.join(this.directory, 'files', sha256);
  }

  private async writeMeta(sha256: string, meta: CacheEntryMeta): Promise<void> {
    const file = path.join(this.entryDir(sha256), 'meta.json');
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(temporary, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(temporary, file);
  }

  private async readMeta(sha256: string): Promise<CacheEntryMeta | null> {
    try {
      return JSON.parse(await readFile(path.join(this.entryDir(sha256), 'meta.json'), 'utf8')) as CacheEntryMeta;
    } catch {
      return null;
    }
  }

  /**
   * The verified file with this content, or null. Cheap when the file is as it was verified
   * (same size, mtime, inode); hashed again otherwise, and removed if it no longer matches.
   */
  async lookup(sha256: string): Promise<CacheEntry | null> {
    const meta = await this.readMeta(sha256);
    if (meta === null) return null;
    const file = path.join(this.entryDir(sha256), meta.fileName);
    const info = await stat(file).catch(() => null);
    if (info === null) return null;
    if (info.size !== meta.size || info.mtimeMs !== meta.mtimeMs || info.ino !== meta.ino) {
      if (info.size !== meta.size || (await sha256Of(file)) !== sha256) {
        await rm(this.entryDir(sha256), { recursive: true, force: true });
        return null;
      }
    }
    const used: CacheEntryMeta = { ...meta, usedAt: new Date().toISOString(), mtimeMs: info.mtimeMs, ino: info.ino };
    await this.writeMeta(sha256, used).catch(() => undefined);
    return { ...used, path: file };
  }

  /** The entry's record without checking or touching the file (to choose among entries). */
  async peek(sha256: string): Promise<CacheEntry | null> {
    const meta = await this.readMeta(sha256);
    if (meta === null) return null;
    const file = path.join(this.entryDir(sha256), meta.fileName);
    return (await stat(file).catch(() => null)) === null ? null : { ...meta, path: file };
  }

  /** Record that the signature of another key over this content was checked. */
  async addSigner(sha256: string, fingerprint: string): Promise<CacheEntry | null> {
    const meta = await this.readMeta(sha256);
    if (meta === null) return null;
    const updated: CacheEntryMeta = {
      ...meta,
      signedBy: fingerprint,
      signers: [...signersOf(meta).filter((signer) => signer !== fingerprint), fingerprint],
      verifiedAt: new Date().toISOString(),
    };
    await this.writeMeta(sha256, updated);
    return { ...updated, path: path.join(this.entryDir(sha256), meta.fileName) };
  }

  /** A fresh temporary path for a download. */
  async temporaryPath(fileName: string): Promise<string> {
    const directory = path.join(this.directory, 'tmp');
    await mkdir(directory, { recursive: true });
    return path.join(directory, `${fileName}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  }

  /** Move a fully verified download into the cache. */
  async commit(
    temporary: string,
    meta: Omit<CacheEntryMeta, 'mtimeMs' | 'ino' | 'verifiedAt' | 'usedAt'>,
  ): Promise<CacheEntry> {
    const directory = this.entryDir(meta.sha256);
    await mkdir(directory, { recursive: true });
    const file = path.join(directory, meta.fileName);
    await rename(temporary, file);
    const info = await stat(file);
    const now = new Date().toISOString();
    const full: CacheEntryMeta = {
      ...meta,
      signers: [meta.signedBy],
      verifiedAt: now,
      usedAt: now,
      mtimeMs: info.mtimeMs,
      ino: info.ino,
    };
    await this.writeMeta(meta.sha256, full);
    return { ...full, path: file };
  }

  /** Run `task` while holding the lock of one file; waits while another live process holds it. */
  async withLock<T>(key: string, task: () => Promise<T>, signal?: AbortSignal, onWait?: () => void): Promise<T> {
    const directory = path.join(this.directory, 'locks');
    await mkdir(directory, { recursive: true });
    const lock = path.join(directory, `${key}.lock`);
    let waited = false;
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      try {
        const handle = await open(lock, 'wx');
        await handle.write(`${process.pid}\n`);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
          await unlink(lock).catch(() => undefined); // left by a process that died
          continue;
        }
        if (!waited) onWait?.();
        waited = true;
        await sleep(100, signal);
      }
    }
    try {
      return await task();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }

  async list(): Promise<CacheEntry[]> {
    const root = path.join(this.directory, 'files');
    const names = await readdir(root).catch(() => [] as string[]);
    const entries: CacheEntry[] = [];
    for (const name of names) {
      const meta = await this.readMeta(name);
      if (meta !== null) entries.push({ ...meta, path: path.join(root, name, meta.fileName) });
    }
    return entries.sort((left, right) => left.fileName.localeCompare(right.fileName));
  }

  /** Remove entries not used for `olderThanDays` (or all), and leftover partial downloads. */
  async prune(options: { all?: boolean; olderThanDays?: number }): Promise<CacheEntry[]> {
    const cutoff =
      options.olderThanDays === undefined ? Number.POSITIVE_INFINITY : Date.now() - options.olderThanDays * 86_400_000;
    const removed: CacheEntry[] = [];
    for (const entry of await this.list()) {
      if (options.all === true || Date.parse(entry.usedAt) < cutoff) {
        await rm(path.dirname(entry.path), { recursive: true, force: true });
        removed.push(entry);
      }
    }
    const tmp = path.join(this.directory, 'tmp');
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const pid = Number(/\.(\d+)\.[0-9a-f]+\.partial$/.exec(name)?.[1]);
      if (!Number.isInteger(pid) || !alive(pid)) await rm(path.join(tmp, name), { force: true });
    }
    await this.pruneRecords();
    return removed;
  }

  /**
   * The records that point into the cache by content (the last verified apk index of each
   * repository, the file of each package: `apk-indexes/`, `apk-packages/`) whose entry is gone,
   * removed with it: an offline build then says "not cached", not "the cached copy is gone".
   */
  private async pruneRecords(): Promise<void> {
    for (const folder of RECORD_FOLDERS) {
      const root = path.join(this.directory, folder);
      const names = await readdir(root, { recursive: true, encoding: 'utf8' }).catch(() => [] as string[]);
      // Deepest first, so that a folder emptied here is seen empty when its turn comes.
      for (const name of names.sort((left, right) => right.length - left.length)) {
        const file = path.join(root, name);
        const info = await stat(file).catch(() => null);
        if (info === null) continue;
        if (info.isDirectory()) {
          if ((await readdir(file).catch(() => ['?'])).length === 0) await rm(file, { recursive: true, force: true });
          continue;
        }
        const pid = Number(/\.(\d+)\.partial$/.exec(name)?.[1]);
        if (name.endsWith('.partial')) {
          if (!Number.isInteger(pid) || !alive(pid)) await rm(file, { force: true });
          continue;
        }
        if (!name.endsWith('.json')) continue;
        const sha256 = await readFile(file, 'utf8')
          .then((text) => (JSON.parse(text) as { sha256?: unknown }).sha256)
          .catch(() => null);
        if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || (await this.readMeta(sha256)) === null)
          await rm(file, { force: true });
      }
    }
  }

  /** Release indexes, kept for --offline. */
  catalogPath(mirror: string, branch: string, arch: string): string {
    const host = mirror.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_');
    return path.join(this.directory, 'catalogs', host, branch, `${arch}.yaml`);
  }

  async saveCatalog(mirror: string, branch: string, arch: string, text: string): Promise<void> {
    const file = this.catalogPath(mirror, branch, arch);
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.partial`;
    await writeFile(temporary, text);
    await rename(temporary, file);
  }

  /**
   * Every cached release index of a branch and architecture, whichever mirror it came from,
   * with its file time.
   */
  async catalogs(branch: string, arch: string): Promise<CachedCatalog[]> {
    const root = path.join(this.directory, 'catalogs');
    const found: CachedCatalog[] = [];
    for (const host of await readdir(root).catch(() => [] as string[])) {
      const file = path.join(root, host, branch, `${arch}.yaml`);
      const info = await stat(file).catch(() => null);
      if (info === null || !info.isFile()) continue;
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text !== null) found.push({ path: file, mtimeMs: info.mtimeMs, text });
    }
    return found;
  }
}

/** Folders of records that name a cache entry by its sha256 (main/services/apk). */
const RECORD_FOLDERS = ['apk-indexes', 'apk-packages'];

export interface CachedCatalog {
  path: string;
  mtimeMs: number;
  text: string;
}

export function cacheUnavailable(directory: string, error: unknown): AppError {
  return new AppError('io', `cannot use the cache folder ${directory}: ${(error as Error).message}`, {
    location: '--cache-dir',
    hint: 'give a writable folder with --cache-dir or APKOVL_CACHE_DIR',
    cause: error,
  });
}
