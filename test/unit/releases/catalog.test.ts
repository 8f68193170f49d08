import { describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../../main/services/releases/cache.js';
import { branchOf, parseCatalog, pickRelease, releaseFileName } from '../../../main/services/releases/catalog.js';

// Shaped like a real latest-releases.yaml: a block-scalar desc, the rpi flavor twice (.img.gz first).
const yaml = `---
-
  title: "Raspberry Pi Disk Image"
  desc: |
    Raspberry Pi disk image.
    Good for SD cards.
  branch: v3.22
  arch: aarch64
  version: 3.22.2
  flavor: alpine-rpi
  file: alpine-rpi-3.22.2-aarch64.img.gz
  iso: alpine-rpi-3.22.2-aarch64.img.gz
  date: 2025-10-08
  time: 10:11:12
  size: 110000000
  sha256: ${'a'.repeat(64)}
  sha512: ${'b'.repeat(128)}
-
  title: "Raspberry Pi"
  desc: "Includes the Raspberry Pi kernel.
    Designed for RPI 1, 2, 3 and 4."
  branch: v3.22
  arch: aarch64
  version: 3.22.2
  flavor: alpine-rpi
  file: alpine-rpi-3.22.2-aarch64.tar.gz
  iso: alpine-rpi-3.22.2-aarch64.tar.gz
  date: 2025-10-08
  time: 10:11:12
  size: 100000000
  sha256: ${'c'.repeat(64)}
  sha512: ${'d'.repeat(128)}
`;

describe('release index', () => {
  it('reads latest-releases.yaml and picks by flavor and file suffix', () => {
    const releases = parseCatalog(yaml, 'test');
    expect(releases).toHaveLength(2);
    expect(pickRelease(releases, { board: 'rpi', arch: 'aarch64' }, 'test')).toMatchObject({
      file: 'alpine-rpi-3.22.2-aarch64.tar.gz',
      size: 100000000,
      sha256: 'c'.repeat(64),
      date: '2025-10-08',
    });
  });

  it('says what the index offers when the target is missing', () => {
    expect(() =>
      pickRelease(parseCatalog(yaml, 'test'), { board: 'x86_64-uefi', arch: 'x86_64', flavor: 'virt' }, 'test'),
    ).toThrow(/no alpine-virt \.iso for x86_64/);
  });

  it('refuses what is not a release index', () => {
    expect(() => parseCatalog('{a: 1}', 'u')).toThrow(/not a list/);
    expect(() => parseCatalog('- { flavor: x }', 'u')).toThrow(/entry 0 .* malformed/);
    expect(() => parseCatalog('- [', 'u')).toThrow(/not valid YAML/);
  });

  it('names pinned releases and their branches', () => {
    expect(releaseFileName({ board: 'rpi', arch: 'armv7' }, '3.21.3')).toBe('alpine-rpi-3.21.3-armv7.tar.gz');
    expect(releaseFileName({ board: 'x86_64-uefi', arch: 'x86_64', flavor: 'extended' }, '3.22.2')).toBe(
      'alpine-extended-3.22.2-x86_64.iso',
    );
    expect(branchOf('3.22.2')).toBe('v3.22');
  });
});

describe('cache folder', () => {
  it('follows each platform and the override', () => {
    expect(defaultCacheDir({}, 'linux', '/home/u')).toBe('/home/u/.cache/apkovl-studio');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' }, 'linux', '/home/u')).toBe('/x/apkovl-studio');
    expect(defaultCacheDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/apkovl-studio');
    expect(defaultCacheDir({ LOCALAPPDATA: 'C:\\\\L' }, 'win32', 'C:\\\\U')).toMatch(/apkovl-studio.Cache$/);
    expect(defaultCacheDir({ APKOVL_CACHE_DIR: '/c' }, 'linux', '/home/u')).toBe('/c');
  });
});
