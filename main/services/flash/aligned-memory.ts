import { createRequire } from 'node:module';

/**
 * Memory for direct I/O. With O_DIRECT the kernel transfers straight from and to the caller's
 * buffer, so the buffer's address must be aligned as well as the position and length (a plain
 * `Buffer.alloc` gives EINVAL). JavaScript cannot see a buffer's address, so every buffer made
 * here is remembered, and `isAlignedMemory` tells whether a buffer lies in one of them at an
 * aligned offset.
 */

/** Page alignment: more than any device's DMA alignment asks for. */
export const MEMORY_ALIGNMENT = 4096;

interface DirectIoBinding {
  getAlignedBuffer(size: number, alignment: number): Buffer;
}

let binding: DirectIoBinding | null = null;
const aligned = new WeakSet<ArrayBufferLike>();

/** `@ronomon/direct-io` (an etcher-sdk dependency) is a native module: loaded on first use. */
function directIo(): DirectIoBinding {
  binding ??= createRequire(import.meta.url)('@ronomon/direct-io') as DirectIoBinding;
  return binding;
}

/** A zero-filled buffer of `size` bytes whose memory starts on a page boundary. */
export function allocateAligned(size: number): Buffer {
  // The binding rejects a size of 0; a page-sized block is cut down to nothing instead.
  const rounded = Math.max(MEMORY_ALIGNMENT, Math.ceil(size / MEMORY_ALIGNMENT) * MEMORY_ALIGNMENT);
  const buffer = directIo().getAlignedBuffer(rounded, MEMORY_ALIGNMENT);
  aligned.add(buffer.buffer);
  return buffer.subarray(0, size);
}

/** Whether `buffer` starts at a multiple of `alignment` inside memory made by `allocateAligned`. */
export function isAlignedMemory(buffer: Uint8Array, alignment: number): boolean {
  return aligned.has(buffer.buffer) && buffer.byteOffset % alignment === 0;
}
