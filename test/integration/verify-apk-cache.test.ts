import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheIndexName, cachePackageName } from '../../main/services/apk/cache-names.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { formatBytes } from '../../shared/model/size.js';
import { runCli } from '../helpers/cli.js';
import { haveCommand, missing } from '../helpers/requirements.js';
import { makeApkKey, syntheticApkRepo, type BuiltApk, type SyntheticApkKey } from '../helpers/synthetic-apk-repo.js';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { writeTarGz, type TarMember } from '../helpers/tar-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { check, copyCard, flipByte, kioskCard, mcopyTo, SMALL_MEDIA, verifyJson } from '../helpers/verify-cards.js';

/**
 * `apkovl verify` on offline cards: the boot partition's cache/ folder holds the signed index of
 * each repository line and every package the world needs that the boot media lack, under apk's
 * cache names. The cards are made here by hand (synthetic media carrying cache/, a hand-made
 * apkovl linking etc/apk/cache), not by the build, so the check is tested on its own.
 */

const MIRROR = 'https://mirror.example/alpine';
const LINES = [`${MIRROR}/v3.22/main`, `${MIRROR}/v3.22/community`];
const MOUNT = '/media/mmcblk0p1';

let temp: ReturnType<typeof makeTempDir>;
let cacheDir: string;
let key: SyntheticApkKey;
let keyFile: string;
/** Complete offline card; its apkovl trusts the repository key in etc/apk/keys. */
let card: string;
/** The same card, its apkovl without the key. */
let keyless: string;
/** Cache name of each package, by package name. */
const cacheNames = new Map<string, string>();
const apks = new Map<string, BuiltApk>();

const checksumBytes = (apk: BuiltApk) => Buffer.from(apk.checksum.slice(2), 'base64');

function apkovlMembers(withKey: boolean): TarMember[] {
  return [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', content: 'kiosk-offline\n' },
    { name: 'etc/apk/', type: 'directory' },
    { name: 'etc/.default_boot_services', content: '' },
    { name: 'etc/apk/world', content: 'alpine-base\nkiosk-app\n' },
    { name: 'etc/apk/repositories', content: `${MOUNT}/apks\n${LINES.join('\n')}\n` },
    { name: 'etc/apk/cache', type: 'symlink', linkname: `${MOUNT}/cache` },
    ...(withKey
      ? [
          { name: 'etc/apk/keys/', type: 'directory' as const },
          { name: `etc/apk/keys/${key.name}`, content: key.publicPem },
        ]
      : []),
  ];
}

beforeAll(async () => {
  temp = makeTempDir('apkovl-verify-cache-');
  cacheDir = path.join(temp.dir, 'empty-cache');
  key = makeApkKey('offline-test@example.org-0001.rsa.pub');
  keyFile = path.join(temp.dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  const repo = syntheticApkRepo({
    branch: 'v3.22',
    arch: 'aarch64',
    key,
    repositories: {
      main: [
        { name: 'alpine-base', version: '3.22.2-r0', depends: ['busybox', 'so:libc.musl-aarch64.so.1'] },
        { name: 'busybox', version: '1.37.0-r19', provides: ['cmd:sh=1.37.0-r19'] },
        { name: 'musl', version: '1.2.5-r10', provides: ['so:libc.musl-aarch64.so.1=1'] },
        { name: 'libfoo', version: '2.1-r0', provides: ['so:libfoo.so.2=2.1'] },
      ],
      community: [
        { name: 'kiosk-app', version: '1.0-r0', depends: ['so:libfoo.so.2', 'cmd:cage', 'cmd:sh'] },
        { name: 'cage', version: '0.2.0-r1', provides: ['cmd:cage=0.2.0-r1'] },
        { name: 'unrelated', version: '9-r0' },
      ],
    },
  });
  const extraFiles: Record<string, Buffer> = {};
  for (const [repository, line] of [
    ['main', `${MIRROR}/v3.22/main`],
    ['community', `${MIRROR}/v3.22/community`],
  ] as const) {
    extraFiles[`cache/${cacheIndexName(line)}`] = repo.files.get(repo.indexPath(repository)) as Buffer;
    for (const apk of repo.packages.get(repository) ?? []) {
      apks.set(apk.package.name, apk);
      if (apk.package.name === 'unrelated') continue;
      const name = cachePackageName(apk.package.name, apk.package.version, checksumBytes(apk));
      cacheNames.set(apk.package.name, name);
      // busybox and musl come with the boot media, the rest from the cache.
      if (apk.package.name === 'busybox' || apk.package.name === 'musl')
        extraFiles[`apks/aarch64/${apk.fileName}`] = apk.data;
      else extraFiles[`cache/${name}`] = apk.data;
    }
  }
  // A package left from an older build: a note, not a problem.
  extraFiles['cache/kiosk-app-0.9-r0.0badc0de.apk'] = Buffer.from('old');
  const media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'media'), ...SMALL_MEDIA, extraFiles });
  const overlay = path.join(temp.dir, 'kiosk-offline.apkovl.tar.gz');
  await writeTarGz(overlay, apkovlMembers(true));
  card = path.join(temp.dir, 'offline.img');
  await buildImage({ bootMedia: media.tarball, overlay, output: card, partitionBytes: 64 << 20 });
  const bare = path.join(temp.dir, 'keyless', 'kiosk-offline.apkovl.tar.gz');
  execFileSync('mkdir', ['-p', path.dirname(bare)]);
  await writeTarGz(bare, apkovlMembers(false));
  keyless = path.join(temp.dir, 'keyless.img');
  await buildImage({ bootMedia: media.tarball, overlay: bare, output: keyless, partitionBytes: 64 << 20 });
}, 120_000);
afterAll(() => temp.cleanup());

const verify = (args: string[]) => verifyJson(args, cacheDir);

describe.skipIf(missing(haveCommand('mcopy', ['-V']), 'mcopy (Debian package mtools)'))(
  'apkovl verify: the package cache of an offline card',
  () => {
    it('passes a complete offline card: every needed package on the media or in cache/, checked', () => {
      const result = verify([card]);
      const cache = check(result.report, 'apk-cache');
      expect(cache.status, JSON.stringify(cache, null, 2)).toBe('ok');
      const cached = ['alpine-base', 'libfoo', 'kiosk-app', 'cage'].reduce(
        (sum, name) => sum + (apks.get(name)?.data.length ?? 0),
        0,
      );
      expect(cache.summary).toBe(
        `6 packages the world needs: 2 on the boot media, 4 in cache/ (${formatBytes(cached)}) checked against the 2 signed indexes`,
      );
      expect(cache.details.join('\n')).toContain('cache/kiosk-app-0.9-r0.0badc0de.apk');
      expect(cache.details.join('\n')).toContain(`etc/apk/cache -> ${MOUNT}/cache`);
      expect(result.report.verdict, JSON.stringify(result.report.checks, null, 2)).toBe('good');
      expect(result.status).toBe(0);
    });

    it('names a needed package that is missing from cache/, and what to do', () => {
      const image = copyCard(card, 'missing.img');
      execFileSync('mdel', ['-i', `${image}@@1M`, `::/cache/${cacheNames.get('cage') ?? ''}`], {
        env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
      });
      const result = verify([image]);
      expect(result.status).toBe(1);
      const cache = check(result.report, 'apk-cache');
      expect(cache.status).toBe('failed');
      const found = cache.problems.find((each) => each.message.includes('neither on the boot media'));
      expect(found?.severity).toBe('fault');
      expect(found?.message).toContain('cage-0.2.0-r1');
      expect(found?.message).toContain('kiosk-app');
      expect(found?.paths).toEqual([`cache/${cacheNames.get('cage') ?? ''}`]);
      expect(found?.hint).toContain('alpine.offline');
      // The same for a person: the check, the package and what to do.
      const text = runCli(['verify', image], { env: { APKOVL_CACHE_DIR: cacheDir } });
      expect(text.status).toBe(1);
      expect(text.stdout).toMatch(/Package cache \(offline boot\).*1 missing/);
      expect(text.stdout).toContain('cage-0.2.0-r1');
      expect(text.stdout).toContain('alpine.offline: true');
    });

    it('names a damaged cached package and where on the medium it is damaged', async () => {
      const image = copyCard(card, 'flipped.img');
      const name = `cache/${cacheNames.get('libfoo') ?? ''}`;
      const size = apks.get('libfoo')?.data.length ?? 0;
      const position = await flipByte(image, name, size - 3);
      const result = verify([image]);
      expect(result.status).toBe(1);
      expect(result.report.verdict).toBe('damaged');
      const cache = check(result.report, 'apk-cache');
      expect(cache.status).toBe('failed');
      const found = cache.problems.find((each) => each.paths.includes(name));
      expect(found?.severity).toBe('damage');
      expect(found?.message).toContain("data member's SHA-256");
      expect(found?.ranges.some((range) => range.start <= position && position < range.end)).toBe(true);
      expect(found?.hint).toContain('write the card again');
    });

    it('says --apk-key for an index signed by a key it does not know, and trusts the key given', () => {
      const result = verify([keyless]);
      const cache = check(result.report, 'apk-cache');
      expect(cache.status).toBe('failed');
      const unknown = cache.problems.filter((each) => each.message.includes('not trusted for aarch64'));
      expect(unknown.map((each) => each.paths[0])).toEqual(LINES.map((line) => `cache/${cacheIndexName(line)}`));
      expect(unknown[0]?.hint).toContain('--apk-key');
      expect(unknown[0]?.severity).toBe('fault');
      expect(unknown[0]?.ranges.length).toBeGreaterThan(0);
      const trusted = verify([keyless, '--apk-key', keyFile]);
      expect(check(trusted.report, 'apk-cache').status).toBe('ok');
    });

    it('finds an index that was changed after it was signed', async () => {
      const image = copyCard(card, 'index.img');
      const name = `cache/${cacheIndexName(LINES[1] ?? '')}`;
      await flipByte(image, name, 600);
      const cache = check(verify([image]).report, 'apk-cache');
      const found = cache.problems.find((each) => each.paths.includes(name));
      expect(found?.severity).toBe('damage');
      expect(cache.summary).toContain('1 of 2 cached indexes usable');
    });

    it('is skipped, with the reason, on a card that is not offline', async () => {
      const { image } = await kioskCard(path.join(temp.dir, 'kiosk'));
      const cache = check(verify([image]).report, 'apk-cache');
      expect(cache.status).toBe('skipped');
      expect(cache.summary).toContain('not offline');
    });

    it('says the cache is unused when cache/ holds packages but the apkovl does not link it', async () => {
      const image = copyCard(card, 'unlinked.img');
      const overlay = path.join(temp.dir, 'unlinked', 'kiosk-offline.apkovl.tar.gz');
      execFileSync('mkdir', ['-p', path.dirname(overlay)]);
      await writeTarGz(
        overlay,
        apkovlMembers(true).filter((member) => member.name !== 'etc/apk/cache'),
      );
      mcopyTo(image, overlay, 'kiosk-offline.apkovl.tar.gz', Date.UTC(2026, 10, 28) / 1000);
      const cache = check(verify([image]).report, 'apk-cache');
      expect(cache.status).toBe('failed');
      expect(cache.problems[0]?.message).toContain('does not link etc/apk/cache');
    });
  },
);
