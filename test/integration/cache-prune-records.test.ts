import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../helpers/cli.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { offlineTestRepositories, offlineDefinition } from '../helpers/offline-repo.js';
import { makeApkKey, syntheticApkRepo } from '../helpers/synthetic-apk-repo.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * `apkovl cache prune` and the records of alpine.offline (the last verified index of each
 * repository, the cached file of each package): a record whose file was pruned goes with it,
 * so that an offline run says what is not cached instead of "the cached copy is gone".
 */
let temp: ReturnType<typeof makeTempDir>;
let server: MirrorServer;
let keyFile: string;
let definition: string;
let cacheDir: string;

const records = (folder: string): string[] => {
  const root = path.join(cacheDir, folder);
  return existsSync(root)
    ? readdirSync(root, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.json'))
        .sort()
    : [];
};

beforeAll(async () => {
  temp = makeTempDir();
  const key = makeApkKey('apkovl-prune@example.org-0badcafe.rsa.pub');
  keyFile = path.join(temp.dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  const repo = syntheticApkRepo({ branch: 'v3.22', arch: 'aarch64', repositories: offlineTestRepositories(), key });
  server = await startMirror(new Map(repo.files));
  cacheDir = path.join(temp.dir, 'cache');
  definition = path.join(temp.dir, 'lobby.yml');
  offlineDefinition(definition, { mirror: `${server.url}/alpine`, packages: ['app'] });
}, 60_000);
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

const validate = (...extra: string[]) =>
  runCliAsync(['validate', definition, '--packages', '--apk-key', keyFile, '--cache-dir', cacheDir, ...extra]);
const prune = (...extra: string[]) => runCliAsync(['cache', 'prune', '--cache-dir', cacheDir, ...extra]);

describe('apkovl cache prune: the records of alpine.offline', () => {
  it('removes an index record with its pruned file, keeps the others, and --all leaves none', async () => {
    const fetched = await validate();
    expect(fetched.status, fetched.stderr).toBe(0);
    expect(records('apk-indexes')).toHaveLength(2);
    expect((await validate('--offline')).status).toBe(0);

    // The community index was last used long ago: pruned, with its record.
    const community = records('apk-indexes').find((name) => name.includes('community')) as string;
    const { sha256 } = JSON.parse(readFileSync(path.join(cacheDir, 'apk-indexes', community), 'utf8')) as {
      sha256: string;
    };
    const meta = path.join(cacheDir, 'files', sha256, 'meta.json');
    writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, 'utf8')), usedAt: '2020-01-01T00:00:00Z' }));
    expect((await prune('--older-than', '30')).status).toBe(0);
    expect(existsSync(meta)).toBe(false);
    expect(records('apk-indexes')).toEqual(records('apk-indexes').filter((name) => !name.includes('community')));
    expect(records('apk-indexes')).toHaveLength(1);
    const offline = await validate('--offline');
    expect(offline.status).not.toBe(0);
    expect(offline.stderr).toMatch(/the community index of v3\.22\/aarch64 is not in the cache/);
    expect(offline.stderr).toMatch(/APKINDEX\.tar\.gz: not cached/);
    expect(offline.stderr).not.toMatch(/the cached copy is gone/);

    expect((await prune('--all')).status).toBe(0);
    expect(records('apk-indexes')).toEqual([]);
    // Their emptied folders (host, branch, repository) go too.
    expect(readdirSync(path.join(cacheDir, 'apk-indexes'), { recursive: true })).toEqual([]);
    expect((await validate('--offline')).stderr).toMatch(/the main index of v3\.22\/aarch64 is not in the cache/);
  });

  it('removes package records whose package was pruned', async () => {
    const output = path.join(temp.dir, 'card.img');
    const { createSyntheticRpiMedia } = await import('../helpers/synthetic-media.js');
    const synthetic = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05, overlayCount: 5, apkCount: 2 });
    const built = await runCliAsync([
      'build',
      definition,
      '--boot-media',
      synthetic.tarball,
      '--output',
      output,
      '--size',
      '64MiB',
      '--cache-dir',
      cacheDir,
      '--apk-key',
      keyFile,
    ]);
    expect(built.status, built.stderr).toBe(0);
    expect(records('apk-packages')).toHaveLength(10);
    expect((await prune('--all')).status).toBe(0);
    expect(records('apk-packages')).toEqual([]);
    expect(records('apk-indexes')).toEqual([]);
  }, 60_000);
});
