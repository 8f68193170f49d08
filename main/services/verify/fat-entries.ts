import type { ReadableMedium } from '../image/fat-reader.js';
import { FAT_ENTRY_MASK } from '../image/fat-table.js';
import type { FatLayout } from './fat-layout.js';
import { entriesOf, readAt } from './medium-bytes.js';

const BLOCK_BYTES = 256 * 1024;
const CACHED_BLOCKS = 32;

/**
 * Entries of the FAT that drivers read (the first, unless mirroring is off), loaded in 256 KiB
 * blocks as chains need them, at most 8 MiB cached: following a contiguous file reads its part
 * of the FAT once, and memory stays bounded whatever the size of the FAT.
 */
export class FatEntries {
  private readonly blocks = new Map<number, Uint32Array>();

  constructor(
    private readonly medium: ReadableMedium,
    private readonly layout: FatLayout,
  ) {}

  /** The entry of `cluster` if its block is loaded, else null (then await entry()). */
  cached(cluster: number): number | null {
    const block = this.blocks.get(Math.floor((cluster * 4) / BLOCK_BYTES));
    if (block === undefined) return null;
    return (block[cluster % (BLOCK_BYTES / 4)] ?? 0) & FAT_ENTRY_MASK;
  }

  async entry(cluster: number): Promise<number> {
    const value = this.cached(cluster);
    if (value !== null) return value;
    await this.load(cluster);
    return this.cached(cluster) ?? 0;
  }

  private async load(cluster: number): Promise<void> {
    const index = Math.floor((cluster * 4) / BLOCK_BYTES);
    const start = index * BLOCK_BYTES;
    const data = await readAt(
      this.medium,
      this.layout.fatOffset + this.layout.activeFat * this.layout.fatBytes + start,
      Math.min(BLOCK_BYTES, this.layout.fatBytes - start),
    );
    const entries = new Uint32Array(BLOCK_BYTES / 4);
    entries.set(entriesOf(data));
    if (this.blocks.size >= CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value as number);
    this.blocks.set(index, entries);
  }
}
