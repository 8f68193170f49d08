import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheIndexName, cachePackageName } from '../../main/services/apk/cache-names.js';
import { verifyApkRange } from '../../main/services/apk/index-fetch.js';
import { parseApkIndex, type ApkPackage } from '../../main/services/apk/index-parse.js';
import { bufferRange } from '../../main/services/boot-media/gzip-end.js';
import { CARD_MANIFEST_NAME, type CardManifest } from '../../shared/model/card-manifest.js';
import { progressEvents, runCliAsync, wireLines } from '../helpers/cli.js';
import { mtoolsPaths, mtoolsRead } from '../helpers/external-tools.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { createSyntheticRpiMedia, pseudoRandomBytes, type SyntheticMedia } from '../helpers/synthetic-media.js';
import {
  flipByte,
  makeApkKey,
  syntheticApkRepo,
  type SyntheticApkKey,
  type SyntheticApkRepo,
} from '../helpers/synthetic-apk-repo.js';
import { makeTempDir } from '../helpers/temp.js';
import { offlineTestRepositories, offlineDefinition } from '../helpers/offline-repo.js';
import { check, verifyJsonAsync } from '../helpers/verify-cards.js';

/**
 * alpine.offline end to end: a machine definition whose world needs packages from a synthetic
 * signed repository on 127.0.0.1 (trusted with --apk-key), built into a card image whose cache/
 * folder is read back with mtools and checked against the index, file by file.
 */

const ARCH = 'aarch64';
const BRANCH = 'v3.22';
const { main = [], community = [] } = offlineTestRepositories();
/** On the boot media too: not copied into cache/. */
const ON_MEDIA = ['musl-1.2.5-r10.apk', 'busybox-1.37.0-r19.apk'];

let temp: ReturnType<typeof makeTempDir>;
let key: SyntheticApkKey;
let keyFile: string;
let good: SyntheticApkRepo;
let server: MirrorServer;
let media: SyntheticMedia;
let counter = 0;

function serve(repo: SyntheticApkRepo): void {
  server.files.clear();
  for (const [name, data] of repo.files) server.files.set(name, data);
}

function definition(packages: string[]): string {
  counter += 1;
  return offlineDefinition(path.join(temp.dir, `machine-${counter}.yml`), { mirror: `${server.url}/alpine`, packages });
}

async function build(file: string, extra: string[] = []) {
  counter += 1;
  const output = path.join(temp.dir, `card-${counter}.img`);
  const result = await runCliAsync([
    'build',
    file,
    '--boot-media',
    media.tarball,
    '--output',
    output,
    '--size',
    '64MiB',
    '--cache-dir',
    path.join(temp.dir, `cache-${counter}`),
    ...extra,
  ]);
  return { ...result, output };
}

beforeAll(async () => {
  temp = makeTempDir();
  key = makeApkKey('apkovl-offline@example.org-0a1b2c3d.rsa.pub');
  keyFile = path.join(temp.dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  good = syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main, community }, key });
  server = await startMirror(new Map());
  media = createSyntheticRpiMedia({
    dir: temp.dir,
    scale: 0.05,
    overlayCount: 5,
    apkCount: 2,
    extraFiles: Object.fromEntries(ON_MEDIA.map((name) => [`apks/${ARCH}/${name}`, `media copy of ${name}`])),
  });
}, 60_000);
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

describe('alpine.offline: the machine packages in the card apk cache', () => {
  it('resolves through so:, cmd:, versions and install_if, and puts every verified package and index in cache/', async () => {
    serve(good);
    const result = await build(definition(['app']), ['--apk-key', keyFile]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr + result.stdout).toMatch(/offline packages: 8 of 10 go into the card's apk cache/);
    expect(result.stdout).toMatch(/apk cache +8 packages .* and 2 signed indexes in cache\/, verified; 2 more/);

    const indexes = new Map<string, ApkPackage[]>();
    for (const repository of ['main', 'community'])
      indexes.set(repository, parseApkIndex(good.texts.get(repository) as string).packages);
    const expected = new Map<string, { repository: string; entry: ApkPackage }>();
    const wanted = [
      ['main', 'openrc'],
      ['main', 'alpine-base'],
      ['main', 'ifupdown-ng'],
      ['main', 'tzdata'],
      ['community', 'widget@2.1.0-r0'],
      ['community', 'shelltools'],
      ['community', 'app'],
      ['community', 'app-openrc'],
    ] as const;
    for (const [repository, spec] of wanted) {
      const [name, version] = spec.split('@');
      const entry = indexes
        .get(repository)
        ?.find((pkg) => pkg.name === name && (version === undefined || pkg.version === version));
      if (entry === undefined) throw new Error(`${spec} not in the ${repository} index`);
      expected.set(cachePackageName(entry.name, entry.version, entry.checksum.bytes), { repository, entry });
    }
    const lines = ['main', 'community'].map((repository) => `${server.url}/alpine/${BRANCH}/${repository}`);
    const cachePaths = mtoolsPaths(result.output)
      .filter((name) => name.startsWith('cache/'))
      .map((name) => name.slice('cache/'.length))
      .sort();
    expect(cachePaths).toEqual([...expected.keys(), ...lines.map((line) => cacheIndexName(line))].sort());
    // Read back from the image: every package's size (S:) and control checksum (C:) as the index says.
    for (const [name, { repository, entry }] of expected) {
      const data = mtoolsRead(result.output, `cache/${name}`);
      expect(data.length, name).toBe(entry.size);
      await verifyApkRange(bufferRange(data), { ...entry, checksum: entry.checksum.text }, name);
      expect(
        data.equals(good.files.get(good.apkPath(repository, `${entry.name}-${entry.version}.apk`)) as Buffer),
      ).toBe(true);
    }
    // The signed indexes, under the names apk gives the lines of etc/apk/repositories.
    for (const [at, repository] of ['main', 'community'].entries()) {
      const data = mtoolsRead(result.output, `cache/${cacheIndexName(lines[at] as string)}`);
      expect(data.equals(good.files.get(good.indexPath(repository)) as Buffer)).toBe(true);
    }
    // Packages the boot media carry stay in apks/ only; the manifest lists the cache.
    const manifest = JSON.parse(mtoolsRead(result.output, CARD_MANIFEST_NAME).toString('utf8')) as CardManifest;
    const listed = manifest.files.filter((file) => file.path.startsWith('cache/')).map((file) => file.path);
    expect(listed.sort()).toEqual(cachePaths.map((name) => `cache/${name}`));
    expect(cachePaths.some((name) => name.startsWith('musl-') || name.startsWith('busybox-'))).toBe(false);
    for (const name of ON_MEDIA) expect(mtoolsPaths(result.output)).toContain(`apks/${ARCH}/${name}`);
  });

  it('apkovl verify checks the cache of the offline card it built, and names a package taken away', async () => {
    serve(good);
    const result = await build(definition(['app']), ['--apk-key', keyFile]);
    expect(result.status, result.stderr).toBe(0);
    const fine = await verifyJsonAsync([result.output, '--boot-media', media.tarball, '--apk-key', keyFile]);
    expect(check(fine.report, 'apk-cache')).toMatchObject({ status: 'ok' });
    expect(fine.report.verdict).toBe('good');

    // Take one needed package off the card: verify names it (offline, without the mirror).
    const widget = mtoolsPaths(result.output).find((name) => /^cache\/widget-2\.1\.0-r0\./.test(name));
    expect(widget).toBeDefined();
    execFileSync('mdel', ['-i', `${result.output}@@1M`, `::${widget as string}`]);
    const missing = await verifyJsonAsync([result.output, '--boot-media', media.tarball, '--apk-key', keyFile]);
    const finding = check(missing.report, 'apk-cache');
    expect(finding.status).not.toBe('ok');
    expect(JSON.stringify(finding)).toMatch(/widget/);
  });

  it('reports the package count and size in the --json summary', async () => {
    serve(good);
    const result = await build(definition(['app']), ['--apk-key', keyFile, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const response = wireLines(result.stdout).find((line) => line.type === 'response') as {
      envelope: { value: { offlinePackages: Record<string, number> } };
    };
    // Each package downloaded with progress, and the count and size told before the image is written.
    const downloads = progressEvents(result.stdout).filter(
      (event) => event.phase === 'download' && event.label === 'Downloading app-1.0-r0.apk',
    );
    expect(downloads.at(-1)).toMatchObject({
      bytes: good.files.get(good.apkPath('community', 'app-1.0-r0.apk'))?.length,
    });
    const lines = wireLines(result.stdout);
    const told = lines.findIndex((line) => JSON.stringify(line).includes('offline packages: 8 of 10'));
    const writing = lines.findIndex((line) => JSON.stringify(line).includes('Writing boot files'));
    expect(told).toBeGreaterThan(-1);
    expect(writing).toBeGreaterThan(told);
    expect(response.envelope.value.offlinePackages).toMatchObject({
      resolved: 10,
      packages: 8,
      indexes: 2,
      onBootMedia: 2,
    });
  });

  it('builds again with --offline from the download cache alone, the mirror gone', async () => {
    serve(good);
    const file = definition(['app']);
    const cacheDir = path.join(temp.dir, 'shared-cache');
    const first = await build(file, ['--apk-key', keyFile, '--cache-dir', cacheDir]);
    expect(first.status, first.stderr).toBe(0);
    server.files.clear();
    const requests = server.requests.length;
    const again = await build(file, ['--apk-key', keyFile, '--cache-dir', cacheDir, '--offline']);
    expect(again.status, again.stderr).toBe(0);
    expect(server.requests.length).toBe(requests);
    expect(readFileSync(again.output).equals(readFileSync(first.output))).toBe(true);
    // Without --offline and without the mirror, the build stops before writing.
    const down = await build(file, ['--apk-key', keyFile, '--cache-dir', cacheDir]);
    expect(down.status).not.toBe(0);
    expect(existsSync(down.output)).toBe(false);
  });

  it('refuses a partition too small for the packages, naming both sizes, before writing', async () => {
    const bulky = syntheticApkRepo({
      branch: BRANCH,
      arch: ARCH,
      repositories: {
        main,
        community: [
          {
            name: 'assets',
            version: '1.0-r0',
            files: { 'usr/share/assets/blob': pseudoRandomBytes('assets', 60 << 20) },
          },
        ],
      },
      key,
    });
    serve(bulky);
    const result = await build(definition(['assets']), ['--apk-key', keyFile]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /apk cache of alpine\.offline \(7 files, 60\.\d MiB\) need about [\d.]+ MiB, and --size has room for [\d.]+ MiB/,
    );
    expect(existsSync(result.output)).toBe(false);
  }, 60_000);

  it('apkovl validate --packages resolves and counts them (the mirror, or --offline from the cache)', async () => {
    serve(good);
    const file = definition(['app']);
    const plain = await runCliAsync(['validate', file]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/alpine\.offline: --packages resolves/);
    expect(plain.stdout).not.toMatch(/packages: \d+/);
    const cacheDir = path.join(temp.dir, 'validate-cache');
    const args = ['validate', file, '--packages', '--apk-key', keyFile, '--cache-dir', cacheDir];
    const counted = await runCliAsync(args);
    expect(counted.status, counted.stderr).toBe(0);
    const sizes = ['main', 'community'].flatMap((repository) =>
      parseApkIndex(good.texts.get(repository) as string).packages.filter(
        (pkg) =>
          [
            'musl',
            'busybox',
            'openrc',
            'alpine-base',
            'ifupdown-ng',
            'tzdata',
            'shelltools',
            'app',
            'app-openrc',
          ].includes(pkg.name) ||
          (pkg.name === 'widget' && pkg.version === '2.1.0-r0'),
      ),
    );
    expect(sizes).toHaveLength(10);
    const total = sizes.reduce((sum, pkg) => sum + pkg.size, 0);
    const json = await runCliAsync([...args, '--json']);
    const response = wireLines(json.stdout).find((line) => line.type === 'response') as {
      envelope: { value: { packages: Record<string, number> } };
    };
    expect(response.envelope.value.packages).toMatchObject({ resolved: 10, bytes: total, indexes: 2 });
    expect(counted.stdout).toMatch(/packages: 10 \(.*\) and 2 signed indexes/);
    server.files.clear();
    const offline = await runCliAsync([...args, '--offline']);
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/packages: 10 /);
    const down = await runCliAsync(args);
    expect(down.status).not.toBe(0);
  });

  it('names the closest matches of a package that does not exist, and writes nothing', async () => {
    serve(good);
    const result = await build(definition(['widgte']), ['--apk-key', keyFile]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/widgte/);
    expect(result.stderr).toMatch(/widget/);
    expect(existsSync(result.output)).toBe(false);
  });

  it('names both sides of a conflict', async () => {
    serve(good);
    const result = await build(definition(['clash']), ['--apk-key', keyFile]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/clash/);
    expect(result.stderr).toMatch(/openrc/);
    expect(existsSync(result.output)).toBe(false);
  });

  it('refuses indexes signed by a key that is not trusted (no --apk-key)', async () => {
    serve(good);
    const result = await build(definition(['app']));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/--apk-key/);
    expect(result.stderr).toContain(key.name);
    expect(existsSync(result.output)).toBe(false);
  });

  it('refuses a tampered .apk: nothing is cached and no image is written', async () => {
    serve(good);
    const appPath = good.apkPath('community', 'app-1.0-r0.apk');
    const original = good.files.get(appPath) as Buffer;
    server.files.set(appPath, flipByte(original, original.length - 100));
    const result = await build(definition(['app']), ['--apk-key', keyFile]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /app-1\.0-r0\.apk from http:\/\/127\.0\.0\.1:\d+\/alpine\/v3\.22\/community\/aarch64\/app-1\.0-r0\.apk/,
    );
    expect(result.stderr).not.toMatch(/\.partial/);
    const cacheDir = path.join(temp.dir, `cache-${counter}`);
    expect(existsSync(path.join(cacheDir, 'apk-packages', ARCH))).toBe(true);
    expect(readdirSync(path.join(cacheDir, 'apk-packages', ARCH)).some((name) => name.startsWith('app-1.0'))).toBe(
      false,
    );
    expect(result.stderr).toMatch(/tampered or damaged/);
    expect(existsSync(result.output)).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.startsWith(path.basename(result.output)))).toEqual([]);
    expect(readFileSync(keyFile, 'utf8')).toBe(key.publicPem);
  });
});
