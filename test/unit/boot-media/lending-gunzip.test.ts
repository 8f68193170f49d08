import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LendingCorruptionError, LendingGunzip } from '../../../main/services/boot-media/lending-gunzip.js';

/** Data that compresses like boot media: random runs (firmware) between text and zeros. */
function mixedData(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  let at = 0;
  let state = seed;
  while (at < size) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const run = Math.min(size - at, 1000 + (state % 200_000));
    if (state % 3 === 0) randomBytes(run).copy(data, at);
    else if (state % 3 === 1) data.write('console=tty1 modules=loop,squashfs quiet\n'.repeat(run / 40 + 1), at, run);
    at += run;
  }
  return data;
}

async function feed(gunzip: LendingGunzip, compressed: Buffer, piece: number): Promise<void> {
  for (let offset = 0; offset < compressed.length; offset += piece) {
    await gunzip.write(compressed.subarray(offset, offset + piece));
  }
  gunzip.end();
}

// Every behaviour holds with the pool of reused buffers and without it (Node's own buffers).
describe.each([true, false])('LendingGunzip (pool: %s)', (pool) => {
  it('inflates exactly, whatever the input pieces and pull sizes', async () => {
    const data = mixedData(2 << 20, 7);
    const compressed = zlib.gzipSync(data, { level: 6 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2000, max: 300_000 }),
        fc.integer({ min: 1000, max: 1 << 20 }),
        fc.integer({ min: 0, max: 3 }),
        async (piece, pullSize, pauses) => {
          const gunzip = new LendingGunzip({ pool, chunkSize: 16 << 10, highWater: 128 << 10 });
          const feeding = feed(gunzip, compressed, piece);
          const out = Buffer.alloc(data.length);
          let at = 0;
          for (let view = await gunzip.pull(pullSize); view !== null; view = await gunzip.pull(pullSize)) {
            // The view must stay intact while the inflater runs ahead.
            const copy = Buffer.from(view);
            for (let index = 0; index < pauses; index += 1) await tick();
            if (!copy.equals(view)) throw new Error(`a lent view changed near byte ${at}`);
            out.set(view, at);
            at += view.length;
          }
          await feeding;
          expect(at).toBe(data.length);
          expect(out.equals(data)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reuses a small pool of output buffers on this Node when pooled (the fast path is active)', async () => {
    const data = mixedData(24 << 20, 3);
    const gunzip = new LendingGunzip({ pool, chunkSize: 256 << 10, highWater: 2 << 20 });
    expect(gunzip.pooled).toBe(pool);
    const feeding = feed(gunzip, zlib.gzipSync(data, { level: 1 }), 256 << 10);
    const buffers = new Set<ArrayBufferLike>();
    let total = 0;
    for (let view = await gunzip.pull(1 << 20); view !== null; view = await gunzip.pull(1 << 20)) {
      buffers.add(view.buffer);
      total += view.length;
    }
    await feeding;
    expect(total).toBe(data.length);
    // 96 chunks of 256 KiB went through far fewer buffers (or each through its own, unpooled).
    if (pool) expect(buffers.size).toBeLessThanOrEqual(24);
    else expect(buffers.size).toBeGreaterThan(48);
  });

  it('holds the producer back while the consumer lags', async () => {
    const data = mixedData(16 << 20, 5);
    const gunzip = new LendingGunzip({ pool, chunkSize: 64 << 10, highWater: 1 << 20 });
    const compressed = zlib.gzipSync(data, { level: 1 });
    let most = 0;
    const feeding = (async () => {
      for (let offset = 0; offset < compressed.length; offset += 16 << 10) {
        await gunzip.write(compressed.subarray(offset, offset + (16 << 10)));
        most = Math.max(most, gunzip.buffered);
      }
      gunzip.end();
    })();
    let total = 0;
    for (let view = await gunzip.pull(4096); view !== null; view = await gunzip.pull(4096)) {
      total += view.length;
      if (total % (256 << 10) === 0) await tick();
    }
    await feeding;
    expect(total).toBe(data.length);
    // At most the high-water mark plus what one 16 KiB piece inflates to.
    expect(most).toBeLessThan((1 << 20) + (16 << 10) * 1100);
  });

  it('inflates highly compressible data correctly when the pool runs dry', async () => {
    const data = Buffer.alloc(40 << 20);
    const compressed = zlib.gzipSync(data);
    expect(compressed.length).toBeLessThan(100 << 10);
    const gunzip = new LendingGunzip({ pool, chunkSize: 64 << 10, highWater: 256 << 10 });
    const feeding = feed(gunzip, compressed, compressed.length);
    let total = 0;
    for (let view = await gunzip.pull(1 << 20); view !== null; view = await gunzip.pull(1 << 20)) {
      if (view.some((byte) => byte !== 0)) throw new Error(`non-zero byte near ${total}`);
      total += view.length;
      await tick();
    }
    await feeding;
    expect(total).toBe(data.length);
  });

  it('keeps memory bounded when one piece of input inflates to a thousand times its size', async () => {
    const compressed = zlib.gzipSync(Buffer.alloc(64 << 20));
    const gunzip = new LendingGunzip({ pool, chunkSize: 64 << 10, highWater: 1 << 20 });
    const feeding = feed(gunzip, compressed, compressed.length); // one write: all of it
    await new Promise((resolve) => setTimeout(resolve, 200)); // a consumer that lags
    let most = gunzip.buffered;
    let total = 0;
    for (let view = await gunzip.pull(64 << 10); view !== null; view = await gunzip.pull(64 << 10)) {
      most = Math.max(most, gunzip.buffered + view.length);
      total += view.length;
      if (total % (1 << 20) === 0) await tick();
    }
    await feeding;
    expect(total).toBe(64 << 20);
    expect(most).toBeLessThanOrEqual((1 << 20) + 2 * (64 << 10));
  });

  it('reports a truncated stream and a corrupt one', async () => {
    const compressed = zlib.gzipSync(mixedData(1 << 20, 9));
    const truncated = new LendingGunzip({ pool });
    const feeding = feed(truncated, compressed.subarray(0, compressed.length - 100), 64 << 10).catch(() => undefined);
    await expect(drain(truncated)).rejects.toThrow(/unexpected end of file/);
    await feeding;

    const damaged = Buffer.from(compressed);
    damaged[damaged.length - 6] = (damaged[damaged.length - 6] as number) ^ 0xff; // the CRC-32 in the trailer
    const corrupt = new LendingGunzip({ pool });
    const feeding2 = feed(corrupt, damaged, 64 << 10).catch(() => undefined);
    await expect(drain(corrupt)).rejects.toMatchObject({ code: 'Z_DATA_ERROR' });
    await feeding2;
  });

  it('checksums what the consumer received, across several gzip members too', async () => {
    const first = mixedData(3 << 20, 11);
    const second = mixedData(1 << 20, 12);
    const gunzip = new LendingGunzip({ pool, chunkSize: 64 << 10, highWater: 256 << 10 });
    const feeding = feed(gunzip, Buffer.concat([zlib.gzipSync(first), zlib.gzipSync(second)]), 100_000);
    expect(await drain(gunzip)).toBe(first.length + second.length);
    await feeding;
    expect(gunzip.received).toEqual({
      crc32: zlib.crc32(second, zlib.crc32(first)),
      bytes: first.length + second.length,
    });
  });

  it('ends pending pulls and writes when destroyed', async () => {
    const gunzip = new LendingGunzip({ pool });
    const pulling = gunzip.pull(100);
    gunzip.destroy(new Error('stopped by the user'));
    await expect(pulling).rejects.toThrow('stopped by the user');
    await expect(gunzip.write(zlib.gzipSync(Buffer.from('x')))).rejects.toThrow('stopped by the user');
  });

  it('takes no more input once the reader stopped without an error', async () => {
    const gunzip = new LendingGunzip({ pool });
    gunzip.destroy();
    expect(await gunzip.write(zlib.gzipSync(Buffer.from('x')))).toBe(false);
    expect(await gunzip.pull(100)).toBeNull();
  });
});

/** A pool that hands out buffers whose bytes the consumer has not read yet: the bug the check exists for. */
class EagerlyReusingGunzip extends LendingGunzip {
  protected override releasable(): boolean {
    return true;
  }
}

describe('LendingGunzip corruption check', () => {
  it('refuses to end quietly when a pool buffer was overwritten before the consumer read it', async () => {
    const data = mixedData(8 << 20, 21);
    const gunzip = new EagerlyReusingGunzip({ chunkSize: 64 << 10, highWater: 2 << 20 });
    expect(gunzip.pooled).toBe(true);
    const feeding = feed(gunzip, zlib.gzipSync(data, { level: 1 }), 1 << 20).catch(() => undefined);
    // A consumer that lags, so that delivered chunks wait in the queue while the pool is reused.
    const pulling = (async () => {
      for (let view = await gunzip.pull(64 << 10); view !== null; view = await gunzip.pull(64 << 10)) await tick();
    })();
    await expect(pulling).rejects.toBeInstanceOf(LendingCorruptionError);
    await feeding;
  });

  it('passes the same data through the honest pool', async () => {
    const data = mixedData(8 << 20, 21);
    const gunzip = new LendingGunzip({ chunkSize: 64 << 10, highWater: 2 << 20 });
    const feeding = feed(gunzip, zlib.gzipSync(data, { level: 1 }), 1 << 20);
    expect(await drain(gunzip)).toBe(data.length);
    await feeding;
    expect(gunzip.received.crc32).toBe(zlib.crc32(data));
  });
});

async function drain(gunzip: LendingGunzip): Promise<number> {
  let total = 0;
  for (let view = await gunzip.pull(1 << 20); view !== null; view = await gunzip.pull(1 << 20)) total += view.length;
  return total;
}
