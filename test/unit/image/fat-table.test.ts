import { describe, expect, it } from 'vitest';
import { FAT_END_OF_CHAIN, fillFatEntries } from '../../../main/services/image/fat-table.js';

function entries(buffer: Buffer): number[] {
  return Array.from({ length: buffer.length / 4 }, (_, index) => buffer.readUInt32LE(index * 4));
}

describe('FAT entries', () => {
  const extents = [
    { start: 2, count: 1, next: 9 },
    { start: 3, count: 3, next: FAT_END_OF_CHAIN },
    { start: 6, count: 0, next: FAT_END_OF_CHAIN },
    { start: 9, count: 2, next: FAT_END_OF_CHAIN },
  ];

  it('chains runs, links a fragmented chain, and leaves the rest free', () => {
    const buffer = Buffer.alloc(12 * 4);
    fillFatEntries(extents, 0, buffer);
    expect(entries(buffer)).toEqual([
      0x0ffffff8,
      0x0fffffff,
      9,
      4,
      5,
      FAT_END_OF_CHAIN,
      0,
      0,
      0,
      10,
      FAT_END_OF_CHAIN,
      0,
    ]);
  });

  it('gives the same entries when filled in pieces', () => {
    const whole = Buffer.alloc(12 * 4);
    fillFatEntries(extents, 0, whole);
    const pieces = [0, 4, 8].map((first) => {
      const piece = Buffer.alloc(16);
      fillFatEntries(extents, first, piece);
      return piece;
    });
    expect(Buffer.concat(pieces)).toEqual(whole);
  });
});
