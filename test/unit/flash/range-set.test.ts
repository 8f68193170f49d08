import { describe, expect, it } from 'vitest';
import { RangeSet } from '../../../main/services/flash/range-set.js';

describe('a set of byte ranges', () => {
  it('merges ranges that touch or overlap, and keeps them sorted', () => {
    const set = new RangeSet();
    set.add(100, 200);
    set.add(0, 10);
    set.add(200, 300);
    set.add(150, 250);
    set.add(5, 5);
    expect(set.list()).toEqual([
      { start: 0, end: 10 },
      { start: 100, end: 300 },
    ]);
  });

  it('removes the middle, an end or all of a range', () => {
    const set = new RangeSet();
    set.add(0, 100);
    set.add(200, 300);
    set.remove(40, 60);
    set.remove(90, 210);
    expect(set.list()).toEqual([
      { start: 0, end: 40 },
      { start: 60, end: 90 },
      { start: 210, end: 300 },
    ]);
    set.remove(0, 1000);
    expect(set.list()).toEqual([]);
  });

  it('names the parts of a range it does not hold', () => {
    const set = new RangeSet();
    set.add(10, 20);
    set.add(30, 40);
    expect(set.missing(0, 50)).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
      { start: 40, end: 50 },
    ]);
    expect(set.missing(12, 18)).toEqual([]);
    expect(set.missing(15, 35)).toEqual([{ start: 20, end: 30 }]);
    expect(new RangeSet().missing(5, 9)).toEqual([{ start: 5, end: 9 }]);
  });
});
