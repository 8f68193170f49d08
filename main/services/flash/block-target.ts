/**
 * Where a card is written: an image file now, a block device later. The card builder sees only
 * this interface, so every write path can be tested on a regular file or a loop device.
 */
export interface BlockTarget {
  /** For messages: a path or a device name. */
  readonly description: string;
  /** Usable size in bytes. */
  readonly size: number;
  /** A buffer this target can write directly (aligned where the target needs it). */
  allocate(size: number): Buffer;
  /** Write the whole buffer at `position` (bytes). */
  write(buffer: Buffer, position: number): Promise<void>;
  /** Make `length` bytes at `position` read as zero. */
  zero(position: number, length: number): Promise<void>;
  /** Read up to `buffer.length` bytes at `position`; returns the count read. */
  read(buffer: Buffer, position: number): Promise<number>;
  /** Push everything written so far to stable storage (fsync). */
  flush(): Promise<void>;
  /** The write succeeded: make the result visible and release the target. */
  commit(): Promise<void>;
  /** The write failed or was cancelled: release the target and leave nothing that looks done. */
  abort(): Promise<void>;
}
