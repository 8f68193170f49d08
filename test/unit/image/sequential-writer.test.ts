import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SequentialWriter } from '../../../main/services/image/sequential-writer.js';
import type { BlockTarget } from '../../../main/services/flash/block-target.js';

/** A target in memory whose writes complete later, as a card's do. */
function memoryTarget(size: number): BlockTarget & { data: Buffer; writes: number[] } {
  const data = Buffer.alloc(size);
  const writes: number[] = [];
  return {
    data,
    writes,
    description: 'memory',
    size,
    allocate: (length) => Buffer.alloc(length),
    async write(buffer, position) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      buffer.copy(data, position);
      writes.push(buffer.length);
    },
    zero: () => Promise.resolve(),
    read: () => Promise.resolve(0),
    flush: () => Promise.resolve(),
    commit: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
}

describe('SequentialWriter', () => {
  it('is done with a chunk when write() returns: the caller may reuse it at once', async () => {
    const expected = randomBytes(3 << 20);
    const target = memoryTarget(expected.length + 4096);
    const writer = new SequentialWriter(target, 4096, { bufferSize: 256 << 10 });
    const lent = Buffer.alloc(100_000);
    for (let offset = 0; offset < expected.length; offset += lent.length) {
      const part = expected.subarray(offset, offset + lent.length);
      part.copy(lent);
      await writer.write(lent.subarray(0, part.length));
      lent.fill(0xee); // the source reuses its buffer
    }
    await writer.flush();
    expect(target.data.subarray(4096).equals(expected)).toBe(true);
    // Large writes, all of the staging size except the last.
    expect(target.writes.slice(0, -1).every((length) => length === 256 << 10)).toBe(true);
  });

  it('pads with zeros to an alignment', async () => {
    const target = memoryTarget(8192);
    target.data.fill(0xff);
    const writer = new SequentialWriter(target, 0);
    await writer.write(Buffer.from('abc'));
    await writer.pad(4096);
    await writer.flush();
    expect(writer.position).toBe(4096);
    expect(target.data.subarray(0, 3).toString()).toBe('abc');
    expect(target.data.subarray(3, 4096).every((byte) => byte === 0)).toBe(true);
    expect(target.data[4096]).toBe(0xff);
  });
});
