import { existsSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../shared/ipc/contract.js';
import { createRouter } from '../../shared/ipc/router.js';
import type { PackagesSummary } from '../../shared/model/requests.js';
import { createAppHandlers, type AppHandlers } from '../../main/app/app-handlers.js';
import { createRecentStore } from '../../main/app/recent-store.js';
import { createSettingsStore } from '../../main/app/settings-store.js';
import type { WorkerCommand } from '../../main/app/worker-command.js';
import { cliPath } from '../helpers/cli.js';
import { mtoolsPaths } from '../helpers/external-tools.js';
import { describeWithLoopDevices, dropDeviceCache, LoopDevices } from '../helpers/loop-devices.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeApkKey, syntheticApkRepo, type SyntheticApkRepo } from '../helpers/synthetic-apk-repo.js';
import { offlineTestRepositories, offlineDefinition } from '../helpers/offline-repo.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The app's side of alpine.offline (main/app/app-handlers.ts with real `apkovl worker`
 * processes): packages.resolve counts a machine's packages before writing, and fetches them
 * into the person's download cache before a build; the build (elevated for a drive) then
 * takes them from that cache offline and downloads nothing into its own.
 */
const ARCH = 'aarch64';
const ON_MEDIA = ['musl-1.2.5-r10.apk', 'busybox-1.37.0-r19.apk'];
const MiB = 1 << 20;

let temp: ReturnType<typeof makeTempDir>;
let repo: SyntheticApkRepo;
let server: MirrorServer;
let media: SyntheticMedia;
let keyFile: string;
let userCache: string;
let rootCache: string;
const started: AppHandlers[] = [];

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build (npm test does)`);
  temp = makeTempDir();
  const key = makeApkKey('apkovl-app@example.org-0c0ffee0.rsa.pub');
  keyFile = path.join(temp.dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  repo = syntheticApkRepo({ branch: 'v3.22', arch: ARCH, repositories: offlineTestRepositories(), key });
  server = await startMirror(new Map(repo.files));
  media = createSyntheticRpiMedia({
    dir: temp.dir,
    scale: 0.05,
    overlayCount: 5,
    apkCount: 2,
    extraFiles: Object.fromEntries(ON_MEDIA.map((name) => [`apks/${ARCH}/${name}`, `media copy of ${name}`])),
  });
  userCache = path.join(temp.dir, 'user-cache');
  rootCache = path.join(temp.dir, 'root-cache');
}, 60_000);
afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.shutdown({ timeoutMs: 5000 })));
});
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

let counter = 0;
function definition(packages: string[]): string {
  counter += 1;
  return offlineDefinition(path.join(temp.dir, `machine-${counter}.yml`), { mirror: `${server.url}/alpine`, packages });
}

/** The worker as the app starts it, with the apk key and its own download cache. */
const worker = (cacheDir: string, trustKey = true): WorkerCommand => ({
  command: process.execPath,
  args: [cliPath, 'worker', ...(trustKey ? ['--apk-key', keyFile] : [])],
  env: { APKOVL_CACHE_DIR: cacheDir },
});

function app(
  options: { saves?: string[]; opens?: string[]; privileged?: boolean; cache?: string; settingsDir?: string } = {},
) {
  const saves = [...(options.saves ?? [])];
  const opens = [...(options.opens ?? [])];
  const events: { name: string; payload: { jobId?: string; progress?: { phase: string; label: string } } }[] = [];
  const handlers = createAppHandlers({
    app: { name: 'Apkovl Studio', version: '0.0.0-test', platform: process.platform },
    deviceAccess: options.privileged ? { mode: 'privileged', detail: null } : { mode: 'prompt', detail: null },
    dialogs: { openFile: async () => opens.shift() ?? null, saveFile: async () => saves.shift() ?? null },
    recent: createRecentStore({ directory: path.join(temp.dir, 'user-data') }),
    ...(options.settingsDir !== undefined ? { settings: createSettingsStore({ directory: options.settingsDir }) } : {}),
    // With settings, the workers trust only what the settings say.
    worker: () => worker(options.cache ?? userCache, options.settingsDir === undefined),
    // The elevated worker: root's own download cache, which must stay empty.
    elevated: async () => worker(rootCache),
  });
  started.push(handlers);
  const router = createRouter(handlers.handlers);
  return {
    events,
    call: (command: string, input: unknown): Promise<Envelope> =>
      router.handle(command, input, {
        emit: (name, payload) => events.push({ name, payload: payload }),
      }),
  };
}

const value = <T>(envelope: Envelope): T => {
  if (!envelope.ok) throw new Error(`failed: ${JSON.stringify(envelope.error)}`);
  return envelope.value as T;
};

describe('app handlers: the packages of an offline machine', () => {
  it('counts them before writing, with progress while the indexes download', async () => {
    const { call, events } = app();
    const summary = value<PackagesSummary>(
      await call('packages.resolve', { jobId: 'count-1', request: { definition: { file: definition(['app']) } } }),
    );
    expect(summary.offline).toBe(true);
    expect(summary.cacheDir).toBe(userCache);
    expect(summary.count).toMatchObject({
      branch: 'v3.22',
      repositories: ['main', 'community'],
      resolved: 10,
      packages: 10,
      indexes: 2,
      onBootMedia: 0,
      fetched: false,
    });
    // The sizes (S:) of what the world resolves to: alpine-base's, then app's (widget 2, not 1.9; not clash).
    const resolved = [...repo.packages.values()]
      .flat()
      .filter((apk) => !['clash', 'libcrypto3'].includes(apk.package.name) && !apk.package.name.startsWith('openssh'))
      .filter((apk) => apk.fileName !== 'widget-1.9.0-r0.apk');
    expect(resolved).toHaveLength(10);
    expect(summary.count?.packageBytes).toBe(resolved.reduce((sum, apk) => sum + apk.data.length, 0));
    const labels = events.filter((event) => event.payload.jobId === 'count-1').map((e) => e.payload.progress?.label);
    expect(labels).toEqual(expect.arrayContaining([expect.stringMatching(/Downloading the community index/)]));
    // Counting downloads indexes only, never a package.
    expect(server.requests.some((request) => request.path.endsWith('.apk'))).toBe(false);
  });

  it('names a missing package with the closest matches, and both sides of a conflict', async () => {
    const { call } = app();
    const missing = await call('packages.resolve', {
      jobId: 'count-2',
      request: { definition: { file: definition(['widgt']) } },
    });
    expect(missing).toMatchObject({
      ok: false,
      error: {
        code: 'invalid-input',
        location: 'world',
        message: expect.stringMatching(/no package provides "widgt" .*closest: widget/) as unknown,
      },
    });
    const conflict = await call('packages.resolve', {
      jobId: 'count-3',
      request: { definition: { file: definition(['clash']) } },
    });
    expect(conflict).toMatchObject({
      ok: false,
      error: { code: 'invalid-input', message: expect.stringMatching(/^package conflict: .*openrc.*clash/) as unknown },
    });
  });

  it('says a definition without alpine.offline has nothing to count', async () => {
    const { call } = app();
    const file = definition(['app']);
    writeFileSync(
      file,
      (await import('node:fs')).readFileSync(file, 'utf8').replace('offline: true', 'offline: false'),
    );
    expect(value(await call('packages.resolve', { jobId: 'count-4', request: { definition: { file } } }))).toEqual({
      offline: false,
      count: null,
      cacheDir: userCache,
    });
  });

  it('refuses a package cache the window names, and downloading into the one packages.resolve filled', async () => {
    const { call } = app({ saves: [path.join(temp.dir, 'refused.img')] });
    const output = value<{ path: string }>(await call('dialog.save-file', { title: 'Image', defaultName: 'x.img' }));
    const request = (packages: unknown) => ({
      jobId: `refused-${++counter}`,
      request: {
        source: { kind: 'definition', file: definition(['app']) },
        media: { kind: 'file', path: media.tarball },
        destination: { kind: 'image', path: output.path },
        packages,
      },
    });
    expect(await call('card.build', request({ offline: true, cacheDir: userCache }))).toMatchObject({
      ok: false,
      error: { code: 'usage', location: 'request.packages.cacheDir' },
    });
    expect(
      await call('packages.resolve', { jobId: 'refused-r', request: { definition: { file: 'x.yml' }, cacheDir: '/' } }),
    ).toMatchObject({ ok: false, error: { code: 'usage', location: 'request.cacheDir' } });
    value(
      await call('packages.resolve', {
        jobId: 'fetch-0',
        request: { definition: { file: definition(['app']) }, bootMedia: media.tarball, fetch: true },
      }),
    );
    expect(await call('card.build', request({ offline: false, cacheDir: userCache }))).toMatchObject({
      ok: false,
      error: { code: 'usage', location: 'request.packages.offline' },
    });
  });
});

describe('app handlers: the package keys the person trusts', () => {
  it('keeps a key chosen with the Open dialog and adds it to every request that checks apk signatures', async () => {
    const settingsDir = path.join(temp.dir, 'settings');
    const notKey = path.join(temp.dir, 'notes.txt');
    writeFileSync(notKey, 'not a key\n');
    const first = app({ settingsDir, cache: path.join(temp.dir, 'cache-keys'), opens: [notKey, keyFile] });
    const count = (jobId: string, call = first.call) =>
      call('packages.resolve', { jobId, request: { definition: { file: definition(['app']) } } });
    // Alpine's keys only: the synthetic repository's index is refused.
    expect(await count('keys-1')).toMatchObject({ ok: false, error: { code: 'invalid-media' } });
    expect(value(await first.call('settings.get', {}))).toEqual({ apkKeys: [] });
    expect(await first.call('settings.set', { apkKeys: [keyFile] })).toMatchObject({
      ok: false,
      error: { code: 'usage', location: 'apkKeys.0' },
    });
    value(await first.call('dialog.open-file', { title: 'Key', filters: [] }));
    expect(await first.call('settings.set', { apkKeys: [notKey] })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input', location: 'apkKeys.0' },
    });
    value(await first.call('dialog.open-file', { title: 'Key', filters: [] }));
    expect(value(await first.call('settings.set', { apkKeys: [keyFile] }))).toEqual({ apkKeys: [keyFile] });
    expect(value<PackagesSummary>(await count('keys-2')).count).toMatchObject({ resolved: 10 });
    // Kept for the next start of the app.
    const second = app({ settingsDir, cache: path.join(temp.dir, 'cache-keys') });
    expect(value(await second.call('settings.get', {}))).toEqual({ apkKeys: [keyFile] });
    expect((await count('keys-3', second.call)).ok).toBe(true);
    expect(value(await second.call('settings.set', { apkKeys: [] }))).toEqual({ apkKeys: [] });
    expect(await count('keys-4', second.call)).toMatchObject({ ok: false, error: { code: 'invalid-media' } });
  });
});

describeWithLoopDevices('app handlers: an offline card on a drive', () => {
  const loops = new LoopDevices();
  afterAll(() => loops.detachAll());

  it('fetches the packages unprivileged, then the elevated build takes them from that cache offline', async () => {
    const { call, events } = app({ cache: path.join(temp.dir, 'user-cache-drive') });
    const file = definition(['app']);
    const fetched = value<PackagesSummary>(
      await call('packages.resolve', {
        jobId: 'fetch-1',
        request: { definition: { file }, bootMedia: media.tarball, fetch: true },
      }),
    );
    expect(fetched.count).toMatchObject({ resolved: 10, packages: 8, onBootMedia: 2, indexes: 2, fetched: true });
    const downloads = events
      .filter((event) => event.payload.jobId === 'fetch-1')
      .map((event) => event.payload.progress?.label ?? '');
    expect(downloads.some((label) => /Downloading app-1\.0-r0\.apk/.test(label))).toBe(true);

    // The mirror is gone: the build can only use what the unprivileged worker fetched.
    server.files.clear();
    const before = server.requests.length;
    const backing = path.join(temp.dir, 'card.bin');
    writeFileSync(backing, '');
    truncateSync(backing, 96 * MiB);
    const device = loops.attach(backing);
    const described = value<{ identity: unknown }>(await call('drive.describe', { device }));
    const built = await call('card.build', {
      jobId: 'build-1',
      request: {
        source: { kind: 'definition', file },
        media: { kind: 'file', path: media.tarball },
        destination: { kind: 'device', path: device, confirmed: described.identity },
        packages: { offline: true, cacheDir: fetched.cacheDir },
      },
    });
    expect(built.ok, JSON.stringify(built)).toBe(true);
    expect(value<{ offlinePackages: unknown }>(built).offlinePackages).toMatchObject({ packages: 8, indexes: 2 });
    expect(server.requests.length).toBe(before);
    // Root's own cache got nothing: no download, no index record.
    expect(existsSync(rootCache) ? readdirSync(rootCache, { recursive: true }) : []).toEqual([]);
    dropDeviceCache(device);
    const image = path.join(temp.dir, 'card-copy.img');
    const { execFileSync } = await import('node:child_process');
    execFileSync('dd', [`if=${device}`, `of=${image}`, 'bs=1M', 'count=96', 'status=none']);
    const cache = mtoolsPaths(image).filter((name) => name.startsWith('cache/'));
    expect(cache).toHaveLength(10);
    expect(cache.some((name) => name.startsWith('cache/app-1.0-r0.'))).toBe(true);
  }, 120_000);
});
