import { ALPINE_RELEASE_KEY_FINGERPRINT } from './alpine-release-key.js';

/** `0482 D840 22F5 ...`: a fingerprint (or key ID) as people compare them. */
export function formatFingerprint(fingerprint: string): string {
  return fingerprint
    .toUpperCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
}

/** "Alpine's release key (0482 D840 ...)", "key 1234 5678 ..." or "apk key NAME.rsa.pub", for messages and listings. */
export function describeSigner(fingerprint: string): string {
  // Package indexes in the cache are signed by apk RSA keys, recorded by key file name.
  if (!/^[0-9a-f]+$/i.test(fingerprint)) return `apk key ${fingerprint}`;
  return fingerprint.toLowerCase() === ALPINE_RELEASE_KEY_FINGERPRINT
    ? `Alpine's release key (${formatFingerprint(fingerprint)})`
    : `key ${formatFingerprint(fingerprint)}`;
}

/**
 * The keys whose signatures over a cached file were checked: `signers`, or `signedBy` alone in
 * entries written before `signers` was kept.
 */
export function signersOf(meta: { signedBy: string; signers?: string[] }): string[] {
  return meta.signers !== undefined && meta.signers.length > 0 ? meta.signers : [meta.signedBy];
}
