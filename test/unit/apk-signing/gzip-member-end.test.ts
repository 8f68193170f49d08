import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bufferRange, gzipMemberEnd } from '../../../main/services/boot-media/gzip-end.js';
import { describeSigner } from '../../../main/services/releases/fingerprint.js';

describe('gzipMemberEnd', () => {
  const first = zlib.gzipSync(Buffer.from('first member '.repeat(500)));
  const second = zlib.gzipSync(Buffer.from('second'));
  const both = Buffer.concat([first, second]);

  it('finds exactly where each member of a concatenation ends', async () => {
    const one = await gzipMemberEnd(bufferRange(both), 0);
    expect(one).toEqual({ kind: 'member', start: 0, end: first.length, inflatedLength: 13 * 500 });
    const two = await gzipMemberEnd(bufferRange(both), first.length, 2);
    expect(two).toEqual({ kind: 'member', start: first.length, end: both.length, inflatedLength: 6 });
  });

  it('says when a member is cut off, damaged or not gzip', async () => {
    expect(await gzipMemberEnd(bufferRange(both.subarray(0, first.length - 3)), 0)).toMatchObject({
      kind: 'truncated',
      member: 1,
    });
    const damaged = Buffer.from(both);
    damaged[first.length - 6] = (damaged[first.length - 6] as number) ^ 0xff; // in the CRC
    expect(await gzipMemberEnd(bufferRange(damaged), 0)).toMatchObject({ kind: 'damaged', near: null });
    expect(await gzipMemberEnd(bufferRange(both), 5)).toEqual({ kind: 'not-gzip', start: 5 });
  });
});

describe('describeSigner', () => {
  it('names apk keys (cached package indexes) by their file name', () => {
    expect(describeSigner('alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub')).toBe(
      'apk key alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub',
    );
    expect(describeSigner('0482d84022f52df1c4e7cd43293acd0907d9495a')).toMatch(/^Alpine's release key/);
  });
});
