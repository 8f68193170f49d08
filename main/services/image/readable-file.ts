import { promises as fs } from 'node:fs';
import { AppError } from '../../../shared/errors.js';
import type { ReadableMedium } from './fat-reader.js';

export interface ReadableFile extends ReadableMedium {
  close(): Promise<void>;
}

/** An image file, opened read-only for the FAT reader. */
export async function openReadableFile(filePath: string): Promise<ReadableFile> {
  const handle = await fs.open(filePath, 'r').catch((error: unknown) => {
    throw new AppError('not-found', `cannot open ${filePath}: ${(error as Error).message}`, {
      location: filePath,
      cause: error,
    });
  });
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new AppError('invalid-input', `${filePath} is not a regular file`, { location: filePath });
  }
  return {
    size: stat.size,
    async read(buffer, position) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      return bytesRead;
    },
    close: () => handle.close(),
  };
}
