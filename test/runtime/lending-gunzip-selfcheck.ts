import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { LendingGunzip } from '../../main/services/boot-media/lending-gunzip.js';

/**
 * LendingGunzip's checks on whatever Node runs this file: Node itself in the tests, and
 * Electron's Node (run as `ELECTRON_RUN_AS_NODE=1 electron this.js`) where the binary exists.
 * Prints one JSON line: the Node version, whether the pool is active, and whether every byte
 * came through intact in both modes.
 */
async function inflate(pool: boolean, compressed: Buffer): Promise<{ pooled: boolean; data: Buffer; crc32: number }> {
  const gunzip = new LendingGunzip({ pool, chunkSize: 64 << 10, highWater: 512 << 10 });
  const feeding = (async () => {
    for (let offset = 0; offset < compressed.length; offset += 100_000) {
      await gunzip.write(compressed.subarray(offset, offset + 100_000));
    }
    gunzip.end();
  })();
  const parts: Buffer[] = [];
  for (let view = await gunzip.pull(300_000); view !== null; view = await gunzip.pull(300_000)) {
    parts.push(Buffer.from(view));
  }
  await feeding;
  return { pooled: gunzip.pooled, data: Buffer.concat(parts), crc32: gunzip.received.crc32 };
}

const data = Buffer.concat(
  Array.from({ length: 64 }, (_, index) => (index % 2 === 0 ? randomBytes(100_000) : Buffer.alloc(150_000, index))),
);
const compressed = zlib.gzipSync(data, { level: 1 });
const result: Record<string, unknown> = { node: process.versions.node, electron: process.versions.electron ?? null };
for (const pool of [true, false]) {
  const out = await inflate(pool, compressed);
  result[pool ? 'pooled' : 'unpooled'] = {
    active: out.pooled,
    intact: out.data.equals(data) && out.crc32 === zlib.crc32(data),
  };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
