import type { ReadableMedium } from '../image/fat-reader.js';

/** `length` bytes from `position`, or fewer when the medium ends there (a truncated image or card). */
export async function readAt(medium: ReadableMedium, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const count = await medium.read(buffer.subarray(done), position + done);
    if (count === 0) break;
    done += count;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** FAT entries are little-endian: on such a host the bytes are read in place. */
export function entriesOf(data: Buffer): Uint32Array {
  if (LITTLE_ENDIAN && data.byteOffset % 4 === 0)
    return new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
  const entries = new Uint32Array(data.length >>> 2);
  for (let index = 0; index < entries.length; index += 1) entries[index] = data.readUInt32LE(index * 4);
  return entries;
}
