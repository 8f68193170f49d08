import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRelease, type FetchReleaseOptions } from '../../main/services/releases/fetch-release.js';
import { responseValue, runCliAsync } from '../helpers/cli.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Offline look-ups find media fetched from any mirror: the release indexes are cached per
 * mirror, and --offline with another mirror (or the definition's default, dl-cdn) must still
 * find them.
 */

let temp: ReturnType<typeof makeTempDir>;
/** Mirror A has 3.22.1 as the newest release, mirror B 3.22.2. */
let mirrorA: MirrorServer;
let mirrorB: MirrorServer;
let keyFile: string;
let counter = 0;
const fixtures = path.resolve('test/fixtures/definitions');
const NOWHERE = 'http://127.0.0.1:9/nowhere'; // never asked: --offline

beforeAll(async () => {
  temp = makeTempDir();
  const keys = await makeSigningKeys();
  keyFile = path.join(temp.dir, 'key.asc');
  writeFileSync(keyFile, keys.alpine.armoredPublic);
  const release = (version: string) => {
    const dir = path.join(temp.dir, version);
    mkdirSync(dir);
    const media = createSyntheticRpiMedia({ dir, version, scale: 0.02, overlayCount: 5, apkCount: 4 });
    const file = `alpine-rpi-${version}-aarch64.tar.gz`;
    return { file, source: media.tarball, flavor: 'alpine-rpi', arch: 'aarch64', version };
  };
  mirrorA = await startMirror(await mirrorFiles([release('3.22.1')], keys.alpine.privateKey));
  mirrorB = await startMirror(await mirrorFiles([release('3.22.2')], keys.alpine.privateKey));
});
afterAll(async () => {
  await mirrorA.close();
  await mirrorB.close();
  temp.cleanup();
});

function options(cacheDir: string, overrides: Partial<FetchReleaseOptions> = {}): FetchReleaseOptions {
  return {
    board: 'rpi',
    arch: 'aarch64',
    branch: 'latest-stable',
    trustedKeyFile: keyFile,
    cacheDir,
    env: {},
    timeouts: { connectMs: 2000, headersMs: 2000, idleMs: 2000 },
    retry: { retries: 1, backoffMs: 10 },
    ...overrides,
  };
}
const freshCache = () => path.join(temp.dir, `cache-${(counter += 1)}`);

describe('offline look-ups across mirrors', () => {
  it('finds media fetched from one mirror when offline names another mirror, or none (the default)', async () => {
    const cacheDir = freshCache();
    const online = await fetchRelease(options(cacheDir, { mirrors: [`${mirrorA.url}/alpine`] }));
    expect(online).toMatchObject({ version: '3.22.1', fromCache: false });
    for (const mirrors of [[NOWHERE], undefined]) {
      const offline = await fetchRelease(options(cacheDir, { offline: true, ...(mirrors ? { mirrors } : {}) }));
      expect(offline).toMatchObject({ path: online.path, version: '3.22.1', fromCache: true });
    }
    const pinned = await fetchRelease(options(cacheDir, { offline: true, branch: undefined, version: '3.22.1' }));
    expect(pinned.path).toBe(online.path);
  });

  it('builds offline from a definition whose default mirror was never used', async () => {
    const cacheDir = freshCache();
    await fetchRelease(options(cacheDir, { mirrors: [`${mirrorB.url}/alpine`] }));
    mirrorB.requests.length = 0;
    const output = path.join(temp.dir, 'minimal.img');
    // minimal.yml: latest-stable from the default mirror (dl-cdn), which this cache has never seen.
    const built = await runCliAsync([
      'build',
      path.join(fixtures, 'minimal.yml'),
      '--output',
      output,
      '--size',
      '64MiB',
      '--offline',
      '--trusted-key',
      keyFile,
      '--cache-dir',
      cacheDir,
      '--json',
    ]);
    expect(built.status, built.stderr).toBe(0);
    expect(responseValue(built.stdout)).toMatchObject({
      alpineRelease: 'alpine-rpi-3.22.2 251009',
    });
    expect(existsSync(output)).toBe(true);
    expect(mirrorB.requests).toEqual([]);
  });

  it('takes the newest release among the cached indexes whose file is cached, and says when it skips one', async () => {
    const cacheDir = freshCache();
    const older = await fetchRelease(options(cacheDir, { mirrors: [`${mirrorA.url}/alpine`] }));
    const newer = await fetchRelease(options(cacheDir, { mirrors: [`${mirrorB.url}/alpine`] }));
    expect(readdirSync(path.join(cacheDir, 'catalogs'))).toHaveLength(2);
    const offline = await fetchRelease(options(cacheDir, { offline: true, mirrors: [NOWHERE] }));
    expect(offline).toMatchObject({ version: '3.22.2', path: newer.path });

    // The newest listed file is gone from the cache: the older cached one is used, with a note.
    rmSync(path.dirname(newer.path), { recursive: true });
    const notes: string[] = [];
    const fallback = await fetchRelease(
      options(cacheDir, { offline: true, mirrors: [NOWHERE], onNote: (text) => notes.push(text) }),
    );
    expect(fallback).toMatchObject({ version: '3.22.1', path: older.path });
    expect(notes.join('\n')).toMatch(
      /offline: using alpine-rpi-3\.22\.1-aarch64\.tar\.gz.*alpine-rpi-3\.22\.2-aarch64\.tar\.gz .* is not in the cache/,
    );
  });

  it('keeps the release index under the mirror it came from, also a fallback mirror', async () => {
    const cacheDir = freshCache();
    await fetchRelease(options(cacheDir, { mirrors: [`${mirrorA.url}/missing`, `${mirrorB.url}/alpine`] }));
    const hosts = readdirSync(path.join(cacheDir, 'catalogs'));
    expect(hosts).toEqual([`127.0.0.1_${new URL(mirrorB.url).port}_alpine`]);
  });
});
