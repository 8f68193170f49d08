import { Worker } from 'node:worker_threads';
import { AppError, CancelledError } from '../../../shared/errors.js';

/**
 * The SHA-256 of a whole file, computed on a worker thread: a build hashes its boot media for
 * the card's manifest while the main thread streams the same media onto the card, so the two
 * do not take turns on one core. (Inline code: the CLI is a bundle, without a worker file.)
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafe(1 << 20);
let fd;
try {
  fd = openSync(workerData.path, 'r');
  for (let position = 0; ; ) {
    const count = readSync(fd, buffer, 0, buffer.length, position);
    if (count === 0) break;
    hash.update(buffer.subarray(0, count));
    position += count;
  }
  parentPort.postMessage({ sha256: hash.digest('hex') });
} catch (error) {
  parentPort.postMessage({ error: String(error && error.message || error) });
} finally {
  if (fd !== undefined) closeSync(fd);
}
`;

export function hashFileInWorker(path: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    const abort = () => {
      void worker.terminate();
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.once('message', (message: { sha256?: string; error?: string }) => {
      signal?.removeEventListener('abort', abort);
      void worker.terminate();
      if (message.sha256 !== undefined) resolve(message.sha256);
      else reject(new AppError('io', `cannot read ${path}: ${message.error ?? 'unknown error'}`, { location: path }));
    });
    worker.once('error', (error) => {
      signal?.removeEventListener('abort', abort);
      reject(error);
    });
  });
}
