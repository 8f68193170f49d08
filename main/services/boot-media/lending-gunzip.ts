import zlib from 'node:zlib';

/**
 * A gunzip whose output is *lent*: `pull()` returns views into a small set of reused buffers,
 * valid until the next `pull()`. Reading boot media this way is about twice as fast as with a
 * plain zlib stream: a plain stream allocates a fresh buffer for every output chunk, and on a
 * 100 MB tarball the page faults on that fresh memory cost more than the inflating.
 *
 * Node's zlib streams write each chunk into `stream._outBuffer` and replace it when it is full
 * (`processCallback` in Node's lib/zlib.js, the same from Node 10 to 24). The replacement is
 * intercepted and a free buffer of a pool is handed in instead. A pool buffer is free again
 * once all of its bytes were delivered and the consumer has pulled past them. When none is
 * free, Node's own new buffer is used: correct, only slower. Where a Node version has no such
 * field, nothing is intercepted and every chunk is Node's own.
 */
export interface LendingGunzipOptions {
  /** Bytes per output chunk (and per pool buffer). */
  chunkSize?: number;
  /** Inflated bytes that may wait for the consumer before `write()` holds back. */
  highWater?: number;
  /**
   * Lend reused pool buffers (default). `false` uses Node's own fresh buffers only: slower, and
   * the reference the pooled mode is tested against.
   */
  pool?: boolean;
}

/**
 * The pool must never hand the consumer bytes that were overwritten before it read them. Each
 * pool buffer counts how often it was handed to the inflater (its generation), and each chunk
 * remembers the generation it was written in: a chunk whose buffer was handed out again before
 * the consumer pulled it is corrupt, and pulling it is refused as the bug it is, never a silent
 * success. The bytes the consumer received are also checksummed (CRC-32, `received`), for the
 * caller to compare with the gzip trailer, which zlib itself checked against what it produced.
 */
export class LendingCorruptionError extends Error {
  constructor(offset: number) {
    super(
      `bug: the inflated bytes at offset ${offset} were overwritten before the consumer read them: ` +
        'a pool buffer was reused too early',
    );
    this.name = 'LendingCorruptionError';
  }
}

interface Slot {
  buffer: Buffer;
  /** Bytes of this buffer delivered so far. */
  delivered: number;
  /** Stream offset just past the last byte delivered from this buffer. */
  end: number;
  /** Full and replaced by the inflater: nothing more will be written into it. */
  sealed: boolean;
  /** How often this buffer was handed to the inflater. */
  generation: number;
}

export class LendingGunzip {
  private readonly inflater: zlib.Gunzip;
  private readonly chunkSize: number;
  private readonly highWater: number;
  private readonly slots = new Map<ArrayBufferLike, Slot>();
  private readonly free: Slot[] = [];
  private readonly queue: Uint8Array[] = [];
  /** For each queued chunk: its pool buffer (undefined for Node's own) and that buffer's generation then. */
  private readonly queueSlots: (Slot | undefined)[] = [];
  private readonly queueGenerations: number[] = [];
  private queueHead = 0;
  private headOffset = 0;
  /** Stream offsets: bytes inflated, and bytes handed to the consumer. */
  private produced = 0;
  private consumed = 0;
  /** Stream offset before the view the consumer holds: everything before it is done with. */
  private releasedUpTo = 0;
  private writeDone: (() => void) | null = null;
  private ended = false;
  private failure: Error | null = null;
  private wakeConsumer: (() => void) | null = null;
  /** Whether the inflater's output buffers come from the pool (false on an unknown Node). */
  readonly pooled: boolean;
  /** CRC-32 of the bytes as the consumer received them. */
  private receivedCrc = 0;

  constructor(options: LendingGunzipOptions = {}) {
    this.chunkSize = options.chunkSize ?? 1 << 20;
    this.highWater = options.highWater ?? 4 << 20;
    this.inflater = zlib.createGunzip({ chunkSize: this.chunkSize });
    this.pooled = options.pool !== false && this.interceptOutput(Math.ceil((2 * this.highWater) / this.chunkSize) + 4);
    // Flowing from the start, paused only past the high-water mark. Chunks that wait inside the
    // paused stream count as delivered only once emitted, so their buffers are not reused.
    this.inflater.on('data', (chunk: Buffer) => this.deliver(chunk));
    this.inflater.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.inflater.on('error', (error: Error) => {
      this.failure ??= error;
      this.wake();
    });
    // A destroyed inflater may never call back for what it was given. (The feeder stops then,
    // so an input buffer zlib might still read is never refilled.)
    this.inflater.on('close', () => this.writeDone?.());
  }

  /**
   * Compressed bytes the inflater has taken. Once the data has ended, this is where the gzip
   * data ends: Node's gunzip reads concatenated members but ignores what follows a zero byte.
   */
  get inputBytes(): number {
    return this.inflater.bytesWritten;
  }

  /** Inflated bytes waiting for the consumer. */
  get buffered(): number {
    return this.produced - this.consumed;
  }

  /** CRC-32 and length (all of it, not modulo 2^32) of every byte the consumer received so far. */
  get received(): { crc32: number; bytes: number } {
    return { crc32: this.receivedCrc, bytes: this.consumed };
  }

  /**
   * Inflate `input`. Resolves once the input is consumed, which waits while the consumer lags
   * (the inflater is paused then); `input` may be reused after. Resolves false, without taking
   * the input, once the inflater is destroyed; rejects with the inflater's error.
   */
  async write(input: Uint8Array): Promise<boolean> {
    this.throwIfFailed();
    if (this.inflater.destroyed) return false;
    await new Promise<void>((resolve) => {
      this.writeDone = resolve;
      this.inflater.write(input, () => resolve());
    });
    this.writeDone = null;
    this.throwIfFailed();
    return !this.inflater.destroyed;
  }

  /** No more input. */
  end(): void {
    if (!this.inflater.destroyed) this.inflater.end();
  }

  /** Stop: pending and later calls end, with `error` if one is given. */
  destroy(error?: Error): void {
    if (error) this.failure ??= error;
    this.inflater.destroy();
    this.ended = true;
    this.wake();
  }

  /**
   * The next at most `max` inflated bytes, as a view that is valid until the next call; null
   * at the end of the data. Rejects with the inflater's error (a truncated or corrupt stream).
   */
  async pull(max: number): Promise<Uint8Array | null> {
    if (this.wakeConsumer !== null) throw new Error('bug: LendingGunzip.pull() called while another is pending');
    this.releasedUpTo = this.consumed;
    this.release();
    for (;;) {
      this.throwIfFailed();
      const head = this.queue[this.queueHead];
      if (head !== undefined) {
        const slot = this.queueSlots[this.queueHead];
        if (slot !== undefined && slot.generation !== this.queueGenerations[this.queueHead]) {
          this.failure = new LendingCorruptionError(this.consumed);
          throw this.failure;
        }
        const count = Math.min(max, head.length - this.headOffset);
        const view = head.subarray(this.headOffset, this.headOffset + count);
        this.headOffset += count;
        if (this.headOffset === head.length) this.advanceHead();
        this.consumed += count;
        this.receivedCrc = zlib.crc32(view, this.receivedCrc);
        if (this.buffered <= this.highWater && this.inflater.isPaused()) this.inflater.resume();
        return view;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }

  private advanceHead(): void {
    this.queue[this.queueHead] = EMPTY;
    this.queueSlots[this.queueHead] = undefined;
    this.queueHead += 1;
    this.headOffset = 0;
    if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueSlots.splice(0, this.queueHead);
      this.queueGenerations.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private deliver(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.produced += chunk.length;
    // One piece of input can inflate to a thousand times its size (a run of zeros): past the
    // high-water mark, let the stream hold back its next inflate until the consumer catches up.
    if (this.buffered > this.highWater) this.inflater.pause();
    const slot = this.slots.get(chunk.buffer);
    if (slot !== undefined) {
      slot.delivered += chunk.length;
      slot.end = this.produced;
    }
    this.queue.push(chunk);
    this.queueSlots.push(slot);
    this.queueGenerations.push(slot?.generation ?? 0);
    this.wake();
  }

  /** Whether the consumer is done with every byte of a full pool buffer. */
  protected releasable(slot: { delivered: number; end: number }): boolean {
    return slot.delivered === this.chunkSize && slot.end <= this.releasedUpTo;
  }

  /** Every full pool buffer whose bytes the consumer is done with can be written into again. */
  private release(): void {
    for (const slot of this.slots.values()) {
      if (slot.sealed && this.releasable(slot)) {
        slot.sealed = false;
        slot.delivered = 0;
        this.free.push(slot);
      }
    }
  }

  private interceptOutput(count: number): boolean {
    const stream = this.inflater as unknown as { _outBuffer?: unknown; _outOffset?: unknown };
    const own = Object.getOwnPropertyDescriptor(stream, '_outBuffer');
    if (!(own?.value instanceof Buffer) || own.value.length !== this.chunkSize || stream._outOffset !== 0) return false;
    for (let index = 0; index < count; index += 1) {
      const buffer = Buffer.allocUnsafeSlow(this.chunkSize);
      const slot: Slot = { buffer, delivered: 0, end: 0, sealed: false, generation: 0 };
      this.slots.set(buffer.buffer, slot);
      this.free.push(slot);
    }
    let current: Buffer = (this.free.pop() as Slot).buffer;
    Object.defineProperty(stream, '_outBuffer', {
      configurable: true,
      enumerable: true,
      get: () => current,
      // Called when `current` is full: seal it and hand in a free pool buffer, or Node's.
      set: (replacement: Buffer) => {
        const previous = this.slots.get(current.buffer);
        if (previous !== undefined) previous.sealed = true;
        this.release();
        const next = this.free.pop();
        if (next !== undefined) next.generation += 1;
        current = next?.buffer ?? replacement;
      },
    });
    return true;
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = null;
    consumer?.();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

const EMPTY = new Uint8Array(0);
