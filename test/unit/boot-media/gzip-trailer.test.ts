import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkTrailer } from '../../../main/services/boot-media/tarball-source.js';

const data = Buffer.from('the bytes that reached the card writer\n'.repeat(100));
const trailer = zlib.gzipSync(data).subarray(-8);

describe('the gzip trailer check on what the card writer received', () => {
  it('passes the bytes the trailer describes', () => {
    expect(() => checkTrailer({ crc32: zlib.crc32(data), bytes: data.length }, trailer, 'media.tar.gz')).not.toThrow();
  });

  it('reports other bytes of the same length as a bug, not as bad media', () => {
    const other = Buffer.from(data);
    other[7] = 0;
    expect(() => checkTrailer({ crc32: zlib.crc32(other), bytes: other.length }, trailer, 'media.tar.gz')).toThrow(
      expect.objectContaining({ code: 'internal', message: expect.stringMatching(/does not match its gzip trailer/) }),
    );
  });

  it('leaves files of several gzip members to the reader’s own check (the trailer is the last member’s)', () => {
    expect(() => checkTrailer({ crc32: 1, bytes: data.length + 10 }, trailer, 'media.tar.gz')).not.toThrow();
  });
});
