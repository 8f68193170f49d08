import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { haveCommand, missing } from '../helpers/requirements.js';
import { createSyntheticIso } from '../helpers/synthetic-iso.js';
import { makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { createSyntheticRpiMedia, pseudoRandomBytes, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  check,
  DEFINITIONS,
  kioskCard,
  KIOSK,
  mcopyTo,
  SECRETS,
  SMALL_MEDIA,
  statuses,
  verifyJson,
  verifyJsonAsync,
} from '../helpers/verify-cards.js';

let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let card: string;
let emptyCache: string;
const LATER = Date.UTC(2026, 10, 28, 10, 0, 0) / 1000;
const KERNEL = 'boot/vmlinuz-rpi';

beforeAll(async () => {
  temp = makeTempDir('apkovl-verify-media-');
  emptyCache = path.join(temp.dir, 'empty-cache');
  ({ media, image: card } = await kioskCard(temp.dir));
});
afterAll(() => temp.cleanup());

const verify = (args: string[]) => verifyJson(args, emptyCache);
const mtools = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

/** The same release with another kernel: what a card written from other media holds. */
function otherMedia(): string {
  const dir = path.join(temp.dir, 'other');
  return createSyntheticRpiMedia({
    dir,
    ...SMALL_MEDIA,
    extraFiles: { [KERNEL]: pseudoRandomBytes('another kernel', 1_100_000) },
  }).tarball;
}

describe.skipIf(missing(haveCommand('mcopy', ['-V']), 'mcopy (Debian package mtools)'))(
  'apkovl verify: media and definitions',
  () => {
    it('--boot-media: every boot file compared (cmdline.txt with its appended parameters); a kernel from other media is caught', () => {
      const same = verify([card, '--boot-media', media.tarball]);
      expect(same.status).toBe(0);
      const compared = check(same.report, 'boot-media');
      expect(compared.status).toBe('ok');
      expect(compared.details).toContain("cmdline.txt: the media's, with consoleblank=0 usbdelay=5 appended");
      expect(same.report.bootMedia).toMatchObject({ source: 'given', sameAsWritten: true });
      // Every file of the media but the ones the builder replaces (usercfg.txt) or drops.
      expect(same.report.bootMedia?.filesCompared).toBe(media.files.size);

      const other = verify([card, '--boot-media', otherMedia()]);
      expect(other.status).toBe(1);
      expect(other.report.verdict).toBe('faulty');
      expect(other.report.bootMedia?.sameAsWritten).toBe(false);
      const [problem, ...rest] = check(other.report, 'boot-media').problems;
      expect(rest).toEqual([]);
      expect(problem).toMatchObject({ severity: 'fault', paths: [KERNEL] });
      expect(problem?.message).toContain(
        'the card holds other boot media (the manifest says it was written from alpine-rpi-3.22.2-aarch64.tar.gz)',
      );
      // What the card holds is still what was written.
      expect(check(other.report, 'manifest').status).toBe('ok');
    });

    it('--machine: identical for the definition the card was built from; a changed one names the differing files', () => {
      const same = verify([card, '--machine', KIOSK, '--secrets', SECRETS]);
      expect(same.status).toBe(0);
      expect(same.report.definition).toMatchObject({
        identical: true,
        sameBytes: true,
        sameDefinitionFile: true,
        writtenFromIt: true,
        differences: [],
      });
      expect(check(same.report, 'definition').summary).toBe('identical: exactly what kiosk.yml produces');

      const changed = path.join(temp.dir, 'kiosk-rotated.yml');
      writeFileSync(changed, readFileSync(KIOSK, 'utf8').replace('rotate: 270', 'rotate: 180'));
      const other = verify([card, '--machine', changed, '--secrets', SECRETS]);
      expect(other.status).toBe(1);
      expect(other.report.verdict).toBe('faulty');
      expect(other.report.definition).toMatchObject({
        identical: false,
        sameDefinitionFile: false,
        writtenFromIt: false,
      });
      expect(other.report.definition?.differences).toEqual([
        { path: 'usr/local/bin/kiosk-browser', how: 'content', detail: 'same size, other bytes' },
      ]);
      const text = runCli(['verify', card, '--machine', changed, '--secrets', SECRETS], {
        env: { APKOVL_CACHE_DIR: emptyCache },
      });
      expect(text.stdout).toContain('content  usr/local/bin/kiosk-browser: same size, other bytes');
    });

    it('a card not made by this tool is still checked, and says it has no manifest', () => {
      const image = path.join(temp.dir, 'foreign.img');
      execFileSync('truncate', ['-s', `${65 << 20}`, image]);
      execFileSync('sfdisk', ['-q', image], { input: 'start=2048, type=c, bootable\n' });
      execFileSync('mkfs.fat', ['-F', '32', '--offset', '2048', '-n', 'FOREIGN', image, String(64 << 10)]);
      const entries = readdirSync(media.tree).map((name) => path.join(media.tree, name));
      execFileSync('mcopy', ['-s', '-m', '-i', `${image}@@1M`, ...entries, '::/'], { env: mtools });
      const out = path.join(temp.dir, 'foreign-overlay');
      expect(runCli(['overlay', KIOSK, '--secrets', SECRETS, '-o', out]).status).toBe(0);
      mcopyTo(image, path.join(out, 'kiosk-hall.apkovl.tar.gz'), 'kiosk-hall.apkovl.tar.gz', LATER);

      const result = verify([image]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.report.verdict).toBe('good');
      expect(result.report.card.manifest).toBeNull();
      expect(statuses(result.report)).toMatchObject({
        filesystem: 'ok',
        release: 'ok',
        'boot-files': 'ok',
        manifest: 'warning',
        apkovl: 'ok',
      });
      expect(check(result.report, 'manifest').problems[0]?.message).toMatch(/^the card has no manifest/);
      expect(result.report.card).toMatchObject({ alpineRelease: 'alpine-rpi-3.22.2 251009', arch: 'aarch64' });
      expect(result.report.headline).toContain('without a manifest');

      // Alpine's own .img.gz is FAT16: no damage, but nothing this command examines (exit 2, no verdict).
      const fat16 = path.join(temp.dir, 'fat16.img');
      execFileSync('truncate', ['-s', `${65 << 20}`, fat16]);
      execFileSync('sfdisk', ['-q', fat16], { input: 'start=2048, type=6, bootable\n' });
      execFileSync('mkfs.fat', ['-F', '16', '--offset', '2048', fat16, String(64 << 10)]);
      const refused = runCli(['verify', fat16], { env: { APKOVL_CACHE_DIR: emptyCache } });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('the partition holds a FAT12 or FAT16 file system');

      // Against the media, a kernel whose bytes differ while its time is the media's is damage.
      expect(check(verify([image, '--boot-media', media.tarball]).report, 'boot-media').status).toBe('ok');
      const kernel = path.join(temp.dir, 'vmlinuz-rpi');
      writeFileSync(kernel, pseudoRandomBytes('a damaged kernel', readFileSync(path.join(media.tree, KERNEL)).length));
      const mediaTime = Date.UTC(2025, 9, 9, 12, 0, 0) / 1000;
      mcopyTo(image, kernel, KERNEL, mediaTime);
      const damaged = verify([image, '--boot-media', media.tarball]);
      expect(damaged.status).toBe(1);
      expect(damaged.report.verdict).toBe('damaged');
      expect(check(damaged.report, 'boot-media').problems).toEqual([
        expect.objectContaining({ severity: 'damage', paths: [KERNEL] }),
      ]);
    });
  },
);

const haveXorriso = haveCommand('xorriso', ['-version']);

describe.skipIf(
  missing(haveCommand('mcopy', ['-V']) && haveXorriso, 'mcopy and xorriso (Debian packages mtools, xorriso)'),
)('apkovl verify: the boot media from the download cache', () => {
  let mirror: MirrorServer;
  let trustedKey: string;
  beforeAll(async () => {
    const keys = await makeSigningKeys();
    trustedKey = path.join(temp.dir, 'release-key.asc');
    writeFileSync(trustedKey, keys.alpine.armoredPublic);
    const iso = createSyntheticIso({ dir: path.join(temp.dir, 'iso'), flavor: 'virt', scale: 0.02 });
    const release = { arch: 'x86_64', version: '3.22.2' };
    mirror = await startMirror(
      await mirrorFiles(
        [
          {
            file: 'alpine-rpi-3.22.2-aarch64.tar.gz',
            source: media.tarball,
            flavor: 'alpine-rpi',
            ...release,
            arch: 'aarch64',
          },
          { file: 'alpine-virt-3.22.2-x86_64.iso', source: iso.iso, flavor: 'alpine-virt', ...release },
        ],
        keys.alpine.privateKey,
      ),
    );
  });
  afterAll(() => mirror.close());

  const build = async (definition: string, output: string, cacheDir: string) => {
    const built = await runCliAsync([
      'build',
      path.join(DEFINITIONS, definition),
      '--secrets',
      SECRETS,
      '--output',
      output,
      '--size',
      '64MiB',
      '--mirror',
      `${mirror.url}/alpine`,
      '--trusted-key',
      trustedKey,
      '--cache-dir',
      cacheDir,
    ]);
    expect(built.status, built.stderr).toBe(0);
  };

  it('finds the very media a Raspberry Pi card was written from, by the hash in its manifest', async () => {
    const cacheDir = path.join(temp.dir, 'rpi-cache');
    const output = path.join(temp.dir, 'fetched-kiosk.img');
    await build('kiosk.yml', output, cacheDir);
    const result = await verifyJsonAsync([output, '--cache-dir', cacheDir]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.report.bootMedia).toMatchObject({
      source: 'cache',
      sameAsWritten: true,
      filesCompared: media.files.size,
    });
    expect(result.report.bootMedia?.file).toMatch(/files\/[0-9a-f]{64}\/alpine-rpi-3\.22\.2-aarch64\.tar\.gz$/);
    expect(check(result.report, 'boot-media').status).toBe('ok');
  });

  it('compares an x86_64 stick with its ISO as the builder maps it; packages in the apk cache are expected', async () => {
    const cacheDir = path.join(temp.dir, 'x86-cache');
    const output = path.join(temp.dir, 'fetched-edge.img');
    await build('persistence-x86.yml', output, cacheDir);
    const result = await verifyJsonAsync([output, '--cache-dir', cacheDir]);
    expect(result.status, JSON.stringify(result.report.checks, null, 1)).toBe(0);
    expect(result.report.verdict).toBe('good');
    expect(result.report.card).toMatchObject({ board: 'x86_64-uefi', arch: 'x86_64' });
    expect(check(result.report, 'boot-media').summary).toMatch(/compared with alpine-virt-3\.22\.2-x86_64\.iso/);
    expect(result.report.bootMedia?.filesCompared).toBeGreaterThan(5);
    // persistence.apk_cache links etc/apk/cache to the stick, but nothing was cached at build time.
    expect(check(result.report, 'apk-cache').status).toBe('skipped');
    expect(check(result.report, 'apk-cache').summary).toContain('written without a package cache');

    const apk = path.join(temp.dir, 'htop-3.4.1-r0.apk');
    writeFileSync(apk, pseudoRandomBytes('htop', 4096));
    execFileSync('mcopy', ['-i', `${output}@@1M`, apk, '::/cache/htop-3.4.1-r0.apk'], { env: mtools });
    const cached = await verifyJsonAsync([output, '--cache-dir', cacheDir]);
    expect(cached.status).toBe(0);
    expect(cached.report.verdict).toBe('changed');
    expect(check(cached.report, 'manifest').changes).toEqual([
      { message: '1 file in the apk cache (cache/), downloaded by the machine', paths: ['cache/htop-3.4.1-r0.apk'] },
    ]);
    expect(check(cached.report, 'apk-cache').status).toBe('skipped');
  });
});
