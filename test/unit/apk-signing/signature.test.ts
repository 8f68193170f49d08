import { createPublicKey, createSign } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ApkSignatureError, alpineApkKeyring, verifyApkSignature } from '../../../main/services/apk/signature.js';
import { bufferRange } from '../../../main/services/boot-media/gzip-end.js';
import { tarFile } from '../../helpers/raw-tar.js';
import { indexMember, makeApkKey } from '../../helpers/synthetic-apk-repo.js';

const trusted = makeApkKey('trusted@example.org-1.rsa.pub');
const stranger = makeApkKey('stranger@example.org-2.rsa.pub');
const keyring = () => {
  const base = alpineApkKeyring('x86_64');
  return {
    ...base,
    keys: new Map([...base.keys, [trusted.name, createPublicKey(trusted.publicPem)]]),
    extra: [trusted.name],
  };
};
const sign = (data: Buffer, key: typeof trusted, kind = 'RSA256', digest = 'sha256') =>
  tarFile(`.SIGN.${kind}.${key.name}`, createSign(digest).update(data).sign(key.privateKey));

describe('verifyApkSignature', () => {
  const member = indexMember('P:a\nV:1-r0\n\n', 'test');

  it('uses the first signature by a trusted key among several (as apk does)', async () => {
    const signatures = zlib.gzipSync(
      Buffer.concat([sign(member, stranger), sign(member, trusted, 'RSA512', 'sha512')]),
    );
    const file = Buffer.concat([signatures, member]);
    const verified = await verifyApkSignature(bufferRange(file), keyring(), 'two.tar.gz', { wholeFile: true });
    expect(verified).toEqual({
      keyName: trusted.name,
      type: 'RSA512',
      signedStart: signatures.length,
      signedEnd: file.length,
    });
  });

  it('a signature made over other bytes, or with the wrong digest for its type, does not match', async () => {
    const wrongDigest = zlib.gzipSync(sign(member, trusted, 'RSA256', 'sha1'));
    const error = await verifyApkSignature(bufferRange(Buffer.concat([wrongDigest, member])), keyring(), 'x').catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ApkSignatureError);
    expect((error as ApkSignatureError).problem).toBe('bad-signature');
  });

  it('a file that is only a signature is truncated, naming the byte where the signed data should start', async () => {
    const signatures = zlib.gzipSync(sign(member, trusted));
    await expect(verifyApkSignature(bufferRange(signatures), keyring(), 'x')).rejects.toThrow(
      /ends after its signature/,
    );
  });
});
