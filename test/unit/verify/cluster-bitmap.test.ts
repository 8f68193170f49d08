import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterBitmap } from '../../../main/services/verify/cluster-bitmap.js';

describe('ClusterBitmap.difference', () => {
  it('finds the runs set in one bitmap and not the other, counting past the listed limit', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 299 }), { maxLength: 200 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 299 }), { maxLength: 200 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 6 }),
        (set, other, from, limit) => {
          const left = new ClusterBitmap(300);
          const right = new ClusterBitmap(300);
          for (const cluster of set) left.add(cluster);
          for (const cluster of other) right.add(cluster);
          const expected: { first: number; count: number }[] = [];
          for (let cluster = from; cluster < 300; cluster += 1) {
            if (!set.includes(cluster) || other.includes(cluster)) continue;
            const last = expected[expected.length - 1];
            if (last !== undefined && last.first + last.count === cluster) last.count += 1;
            else expected.push({ first: cluster, count: 1 });
          }
          const result = left.difference(right, from, limit);
          expect(result.runs).toEqual(expected.slice(0, limit));
          expect(result.runCount).toBe(expected.length);
          expect(result.clusters).toBe(expected.reduce((sum, run) => sum + run.count, 0));
          for (const cluster of set) expect(left.has(cluster)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
