import type { promises as fs } from 'node:fs';
import { AppError } from '../../../shared/errors.js';
import { allocateAligned, isAlignedMemory } from './aligned-memory.js';

/** `bytes 512-1023` of a device, inclusive as people count. */
export function byteRange(description: string, start: number, length: number): string {
  return `${description}, bytes ${start}-${start + Math.max(length, 1) - 1}`;
}

function ioError(operation: 'read' | 'write', description: string, start: number, length: number, error: unknown) {
  const code = (error as NodeJS.ErrnoException).code;
  const gone = code === 'ENODEV' || code === 'ENXIO' || code === 'ENOMEDIUM';
  return new AppError(
    'io',
    `cannot ${operation} ${length} bytes at byte ${start} of ${description}: ${(error as Error).message}`,
    {
      location: byteRange(description, start, length),
      hint: gone
        ? 'the card or stick was removed or lost power; put it back and start again'
        : 'the card or stick may be failing, or its reader loose; try again, then try another card',
      cause: error,
    },
  );
}

/**
 * A block device opened with O_DIRECT: every transfer goes straight between the device and
 * memory, bypassing the page cache. Writes must be aligned (position, length and memory: a
 * misaligned write is a bug in the caller and fails with an internal error that says what was
 * wrong, never with the kernel's bare EINVAL); reads may be anything, and go through an aligned
 * bounce buffer when they are not aligned.
 */
export class DirectFile {
  constructor(
    readonly handle: fs.FileHandle,
    /** For messages: the device path. */
    readonly description: string,
    /** The device's logical block size: positions and lengths are multiples of it. */
    readonly blockSize: number,
  ) {}

  /** Why `buffer` cannot be transferred at `position` with direct I/O, or null when it can. */
  misalignment(buffer: Uint8Array, position: number): string | null {
    if (position % this.blockSize !== 0) return `position ${position} is not a multiple of ${this.blockSize}`;
    if (buffer.length % this.blockSize !== 0) return `length ${buffer.length} is not a multiple of ${this.blockSize}`;
    if (!isAlignedMemory(buffer, this.blockSize)) {
      return `the buffer is not aligned memory (use a buffer from allocate(), or a view of one that starts at a multiple of ${this.blockSize})`;
    }
    return null;
  }

  async write(buffer: Uint8Array, position: number): Promise<void> {
    const problem = this.misalignment(buffer, position);
    if (problem !== null) {
      throw new AppError(
        'internal',
        `unaligned direct write of ${buffer.length} bytes at byte ${position} of ${this.description}: ${problem}`,
        { location: byteRange(this.description, position, buffer.length) },
      );
    }
    let done = 0;
    while (done < buffer.length) {
      let written: number;
      try {
        ({ bytesWritten: written } = await this.handle.write(buffer, done, buffer.length - done, position + done));
      } catch (error) {
        throw ioError('write', this.description, position + done, buffer.length - done, error);
      }
      if (written === 0) {
        throw ioError('write', this.description, position + done, buffer.length - done, new Error('no byte written'));
      }
      done += written;
    }
  }

  /** Read up to `buffer.length` bytes at `position`; fewer only at the end of the device. */
  async read(buffer: Uint8Array, position: number): Promise<number> {
    if (this.misalignment(buffer, position) === null) return this.readAligned(buffer, position);
    const start = Math.floor(position / this.blockSize) * this.blockSize;
    const end = Math.ceil((position + buffer.length) / this.blockSize) * this.blockSize;
    const bounce = allocateAligned(end - start);
    const count = await this.readAligned(bounce, start);
    const available = Math.max(0, Math.min(buffer.length, count - (position - start)));
    buffer.set(bounce.subarray(position - start, position - start + available));
    return available;
  }

  private async readAligned(buffer: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < buffer.length) {
      let count: number;
      try {
        ({ bytesRead: count } = await this.handle.read(buffer, done, buffer.length - done, position + done));
      } catch (error) {
        throw ioError('read', this.description, position + done, buffer.length - done, error);
      }
      if (count === 0) break;
      done += count;
    }
    return done;
  }
}
