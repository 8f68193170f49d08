import { createRequire } from 'node:module';

/**
 * The hash that recorded writes are compared with after reading back: XXH3, 64 bits, from
 * `xxhash-addon` (an etcher-sdk dependency; etcher-sdk verifies with it too). It is there to
 * catch a card that returns other bytes than it was given, not an adversary, and at ~20 GB/s
 * (SHA-256: ~1.3 GB/s on the same machine) it keeps the write path as fast as without it.
 */

/** Bytes of one digest. */
export const PIECE_HASH_BYTES = 8;

interface XxhashBinding {
  XXHash3: { hash(data: Uint8Array): Buffer };
}

let binding: XxhashBinding | null = null;

/** The XXH3-64 digest of `data` (a native module, loaded on first use). */
export function hashPiece(data: Uint8Array): Buffer {
  binding ??= createRequire(import.meta.url)('xxhash-addon') as XxhashBinding;
  return binding.XXHash3.hash(data);
}
