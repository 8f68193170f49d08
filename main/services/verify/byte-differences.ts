/** Bytes `start` .. `end - 1` of a file. */
export interface FileRange {
  start: number;
  end: number;
}

const BLOCK = 4096;
/** Differences closer than this are one range: a person wants places, not every byte. */
const JOIN_GAP = 512;

/**
 * Where two versions of a file differ, found as their bytes stream past: exact ranges for a few
 * flipped bytes, one range for a stretch that differs throughout. Keeps at most `limit` ranges
 * (the last one then grows to cover the rest) and counts every differing byte.
 */
export class ByteDifferences {
  readonly ranges: FileRange[] = [];
  differingBytes = 0;

  constructor(private readonly limit = 32) {}

  get found(): boolean {
    return this.ranges.length > 0;
  }

  /** Compare `expected` with `actual` (the same length), both starting at `offset` of the file. */
  compare(expected: Uint8Array, actual: Uint8Array, offset: number): void {
    if (Buffer.compare(expected, actual) === 0) return;
    for (let block = 0; block < expected.length; block += BLOCK) {
      const end = Math.min(expected.length, block + BLOCK);
      if (Buffer.compare(expected.subarray(block, end), actual.subarray(block, end)) === 0) continue;
      let first = -1;
      let last = -1;
      for (let at = block; at < end; at += 1) {
        if (expected[at] === actual[at]) continue;
        if (first === -1) first = at;
        last = at;
        this.differingBytes += 1;
      }
      this.add(offset + first, offset + last + 1);
    }
  }

  /** Bytes one side has and the other lacks (the files' sizes differ). */
  unmatched(start: number, end: number): void {
    if (end <= start) return;
    this.differingBytes += end - start;
    this.add(start, end);
  }

  private add(start: number, end: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last !== undefined && (start - last.end <= JOIN_GAP || this.ranges.length >= this.limit)) {
      last.end = Math.max(last.end, end);
      return;
    }
    this.ranges.push({ start, end });
  }
}
