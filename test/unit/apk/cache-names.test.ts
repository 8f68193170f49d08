import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheIndexName, cachePackageName } from '../../../main/services/apk/cache-names.js';

describe('apk cache file names', () => {
  it('names a cached index by the SHA-1 of its repository line', () => {
    const url = 'https://dl-cdn.alpinelinux.org/alpine/v3.22/main';
    const hex = createHash('sha1').update(url).digest('hex').slice(0, 8);
    expect(cacheIndexName(url)).toBe(`APKINDEX.${hex}.tar.gz`);
    // The line as written: another spelling is another cache file.
    expect(cacheIndexName(`${url}/`)).not.toBe(cacheIndexName(url));
  });

  it('names a cached package by name, version and the first four bytes of its C: checksum', () => {
    // C:Q1 + base64 of a SHA-1: the decoded bytes start 0x0a 0x1b 0x2c 0x3d.
    const checksum = Buffer.from('0a1b2c3d4e5f60718293a4b5c6d7e8f901234567', 'hex');
    expect(cachePackageName('musl', '1.2.5-r10', checksum)).toBe('musl-1.2.5-r10.0a1b2c3d.apk');
    expect(() => cachePackageName('x', '1', Buffer.alloc(3))).toThrow(RangeError);
  });
});
