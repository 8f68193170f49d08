import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALPINE_APK_KEYS, ALPINE_APK_KEYS_BY_ARCH } from '../../../main/services/apk/alpine-apk-keys.js';
import { alpineApkKeyring, parseApkKey } from '../../../main/services/apk/signature.js';

const keyDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../main/services/apk/keys');

describe("Alpine's apk keys shipped in the code", () => {
  const files = readdirSync(keyDir).filter((name) => name.endsWith('.rsa.pub'));

  it('are exactly the key files kept in main/services/apk/keys', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(Object.keys(ALPINE_APK_KEYS).sort()).toEqual([...files].sort());
    for (const name of files) expect(ALPINE_APK_KEYS[name], name).toBe(readFileSync(path.join(keyDir, name), 'utf8'));
  });

  it('parse as RSA public keys of 2048 bits or more', () => {
    for (const [name, pem] of Object.entries(ALPINE_APK_KEYS)) {
      const key = parseApkKey(pem, name);
      expect(key.type).toBe('public');
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(key.asymmetricKeyDetails?.modulusLength ?? 0, name).toBeGreaterThanOrEqual(2048);
    }
  });

  it('every architecture names keys that are shipped, as the alpine-keys package installs them', () => {
    for (const [arch, names] of Object.entries(ALPINE_APK_KEYS_BY_ARCH)) {
      expect(names.length, arch).toBeGreaterThan(0);
      for (const name of names) expect(ALPINE_APK_KEYS[name], `${arch}: ${name}`).toBeDefined();
    }
    expect(ALPINE_APK_KEYS_BY_ARCH.x86_64).toContain('alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub');
    expect(ALPINE_APK_KEYS_BY_ARCH.aarch64).toEqual([
      'alpine-devel@lists.alpinelinux.org-58199dcc.rsa.pub',
      'alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub',
    ]);
    expect([...alpineApkKeyring('armv7').keys.keys()]).toEqual(ALPINE_APK_KEYS_BY_ARCH.armv7);
  });

  it('an unknown architecture is refused naming the known ones', () => {
    expect(() => alpineApkKeyring('mips')).toThrow(/no Alpine package keys .* mips/);
  });
});
