import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A small JSON record in the download cache naming a verified file by its SHA-256 (the last
 * index of a repository, a package by its apk cache name), written atomically.
 */
export interface CachePointer {
  sha256: string;
  url: string;
}

export async function saveCachePointer<T extends CachePointer>(file: string, pointer: T): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.partial`;
  await writeFile(temporary, `${JSON.stringify(pointer, null, 2)}\n`);
  await rename(temporary, file);
}

/** The record at `file`; null when it is missing or not a record. */
export async function readCachePointer(file: string): Promise<CachePointer | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<CachePointer>;
    return typeof value.sha256 === 'string' && typeof value.url === 'string' ? (value as CachePointer) : null;
  } catch {
    return null;
  }
}
