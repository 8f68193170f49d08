import type { BlockTarget } from '../../main/services/flash/block-target.js';

/**
 * A sparse in-memory device of any size (only the 4 KiB blocks written are held), for unit
 * tests of what runs over any BlockTarget. `bytes` counts every byte written or zeroed.
 */
export class MemoryTarget implements BlockTarget {
  readonly description: string;
  private readonly blocks = new Map<number, Buffer>();
  bytes = 0;
  closed: 'commit' | 'abort' | null = null;

  constructor(
    readonly size: number,
    description = 'memory',
  ) {
    this.description = description;
  }

  allocate(size: number): Buffer {
    return Buffer.alloc(size);
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    this.check(position, buffer.length);
    this.copyIn(buffer, position);
    this.bytes += buffer.length;
  }

  async zero(position: number, length: number): Promise<void> {
    this.check(position, length);
    this.copyIn(Buffer.alloc(length), position);
    this.bytes += length;
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    const count = Math.max(0, Math.min(buffer.length, this.size - position));
    for (let done = 0; done < count;) {
      const at = position + done;
      const block = Math.floor(at / 4096);
      const offset = at - block * 4096;
      const length = Math.min(4096 - offset, count - done);
      const data = this.blocks.get(block);
      if (data === undefined) buffer.fill(0, done, done + length);
      else data.copy(buffer, done, offset, offset + length);
      done += length;
    }
    return count;
  }

  async flush(): Promise<void> {}

  async commit(): Promise<void> {
    this.closed = 'commit';
  }

  async abort(): Promise<void> {
    this.closed = 'abort';
  }

  private copyIn(data: Buffer, position: number): void {
    for (let done = 0; done < data.length;) {
      const at = position + done;
      const block = Math.floor(at / 4096);
      const offset = at - block * 4096;
      const length = Math.min(4096 - offset, data.length - done);
      let stored = this.blocks.get(block);
      if (stored === undefined) {
        stored = Buffer.alloc(4096);
        this.blocks.set(block, stored);
      }
      data.copy(stored, offset, done, done + length);
      done += length;
    }
  }

  private check(position: number, length: number): void {
    if (position < 0 || position + length > this.size) throw new Error(`outside the target: ${position}+${length}`);
  }
}
