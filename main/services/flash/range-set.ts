import type { ByteRange } from './write-record.js';

/** A set of byte ranges, kept sorted, disjoint and merged. */
export class RangeSet {
  private ranges: ByteRange[] = [];

  list(): readonly ByteRange[] {
    return this.ranges;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const kept: ByteRange[] = [];
    let merged = { start, end };
    for (const range of this.ranges) {
      if (range.end < merged.start || range.start > merged.end) kept.push(range);
      else merged = { start: Math.min(range.start, merged.start), end: Math.max(range.end, merged.end) };
    }
    kept.push(merged);
    this.ranges = kept.sort((a, b) => a.start - b.start);
  }

  remove(start: number, end: number): void {
    if (end <= start) return;
    this.ranges = this.ranges.flatMap((range) => {
      if (range.end <= start || range.start >= end) return [range];
      const parts: ByteRange[] = [];
      if (range.start < start) parts.push({ start: range.start, end: start });
      if (range.end > end) parts.push({ start: end, end: range.end });
      return parts;
    });
  }

  /** The parts of [start, end) that are not in the set. */
  missing(start: number, end: number): ByteRange[] {
    const parts: ByteRange[] = [];
    let at = start;
    for (const range of this.ranges) {
      if (range.end <= at) continue;
      if (range.start >= end) break;
      if (range.start > at) parts.push({ start: at, end: range.start });
      at = Math.max(at, range.end);
    }
    if (at < end) parts.push({ start: at, end });
    return parts;
  }
}
