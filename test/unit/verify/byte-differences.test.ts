import { describe, expect, it } from 'vitest';
import { ByteDifferences } from '../../../main/services/verify/byte-differences.js';

describe('ByteDifferences', () => {
  const data = Buffer.alloc(64 * 1024, 7);

  it('finds nothing in equal bytes, and one flipped byte to the byte, across pieces', () => {
    const differences = new ByteDifferences();
    const changed = Buffer.from(data);
    changed[40_000] = 8;
    differences.compare(data.subarray(0, 32_768), changed.subarray(0, 32_768), 0);
    expect(differences.found).toBe(false);
    differences.compare(data.subarray(32_768), changed.subarray(32_768), 32_768);
    expect(differences.ranges).toEqual([{ start: 40_000, end: 40_001 }]);
    expect(differences.differingBytes).toBe(1);
  });

  it('joins differences that lie close, keeps far ones apart, and counts every byte', () => {
    const differences = new ByteDifferences();
    const changed = Buffer.from(data);
    for (const at of [100, 300, 9_000, 20_000, 20_001, 20_002]) changed[at] = 0;
    differences.compare(data, changed, 1_000_000);
    expect(differences.ranges).toEqual([
      { start: 1_000_100, end: 1_000_301 },
      { start: 1_009_000, end: 1_009_001 },
      { start: 1_020_000, end: 1_020_003 },
    ]);
    expect(differences.differingBytes).toBe(6);
  });

  it('adds what one side lacks, and past its limit grows the last range instead of listing more', () => {
    const limited = new ByteDifferences(2);
    const changed = Buffer.from(data);
    for (const at of [0, 10_000, 30_000, 50_000]) changed[at] = 0;
    limited.compare(data, changed, 0);
    limited.unmatched(data.length, data.length + 10);
    expect(limited.ranges).toEqual([
      { start: 0, end: 1 },
      { start: 10_000, end: data.length + 10 },
    ]);
    expect(limited.differingBytes).toBe(14);
  });
});
