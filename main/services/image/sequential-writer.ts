import { AppError } from '../../../shared/errors.js';
import type { BlockTarget } from '../flash/block-target.js';

export interface SequentialWriterOptions {
  /** Bytes handed to the target per write. */
  bufferSize?: number;
  /** Writes that may be under way at once, so I/O overlaps the producer. */
  inFlight?: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Writes a run of bytes to consecutive positions of a target in large writes, several under
 * way at once, so that CPU (decompression) and I/O overlap and the target sees few, large,
 * sequential writes.
 *
 * Bytes are copied into a few reused staging buffers (aligned where the target needs it), so a
 * chunk given to `write()` is done with when the call returns: sources may lend their buffers
 * (see LendingGunzip). Reused buffers also spare the page faults of fresh memory, which cost
 * more than the copy.
 */
export class SequentialWriter {
  private readonly bufferSize: number;
  private readonly staging: Buffer[];
  private readonly pending: Promise<void>[] = [];
  private readonly inFlight: number;
  private current = 0;
  private fill = 0;
  private start: number;
  private failure: unknown = null;

  constructor(
    private readonly target: BlockTarget,
    start: number,
    options: SequentialWriterOptions = {},
  ) {
    this.bufferSize = options.bufferSize ?? 1 << 20;
    this.inFlight = Math.max(1, options.inFlight ?? 2);
    this.staging = Array.from({ length: this.inFlight + 1 }, () => target.allocate(this.bufferSize));
    this.start = start;
  }

  /** Position (bytes on the target) of the next byte written. */
  get position(): number {
    return this.start + this.fill;
  }

  /** Copy `chunk` out; the caller may reuse it once this resolves. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const buffer = this.staging[this.current] as Buffer;
      const count = Math.min(buffer.length - this.fill, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + count), this.fill);
      this.fill += count;
      offset += count;
      if (this.fill === buffer.length) await this.submit();
    }
  }

  /** Write zeros up to the next multiple of `alignment` (relative to the target's start). */
  async pad(alignment: number): Promise<void> {
    let missing = (alignment - (this.position % alignment)) % alignment;
    while (missing > 0) {
      const count = Math.min(missing, ZEROS.length);
      await this.write(ZEROS.subarray(0, count));
      missing -= count;
    }
  }

  /** Write out what is left and wait for every write. */
  async flush(): Promise<void> {
    if (this.fill > 0) await this.submit();
    await Promise.all(this.pending.splice(0));
    this.throwIfFailed();
  }

  private async submit(): Promise<void> {
    this.throwIfFailed();
    const position = this.start;
    const write = this.target.write((this.staging[this.current] as Buffer).subarray(0, this.fill), position);
    this.current = (this.current + 1) % this.staging.length;
    this.pending.push(
      write.catch((error: unknown) => {
        this.failure ??= error;
      }),
    );
    this.start += this.fill;
    this.fill = 0;
    // At most `inFlight` writes under way; this also frees the next staging buffer.
    if (this.pending.length >= this.inFlight) await this.pending.shift();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) {
      throw this.failure instanceof Error ? this.failure : new AppError('io', 'a write to the target failed');
    }
  }
}
