import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { fetchRelease, type FetchReleaseOptions } from '../../main/services/releases/fetch-release.js';
import { progressEvents, responseValue, runCliAsync, wireLines } from '../helpers/cli.js';
import { fsckFat, mtoolsPaths } from '../helpers/external-tools.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { detachedSignature, makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { createSyntheticIso } from '../helpers/synthetic-iso.js';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const FILE = 'alpine-rpi-3.22.2-aarch64.tar.gz';
const PATH = `/alpine/v3.22/releases/aarch64/${FILE}`;
let temp: ReturnType<typeof makeTempDir>;
let mirror: MirrorServer;
let original: Map<string, Buffer>;
let trustedKey: string;
let strangerKey: Awaited<ReturnType<typeof makeSigningKeys>>['stranger'];
let sha256: string;
let cacheCounter = 0;

beforeAll(async () => {
  temp = makeTempDir();
  const media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05, overlayCount: 20, apkCount: 10 });
  const keys = await makeSigningKeys();
  strangerKey = keys.stranger;
  trustedKey = path.join(temp.dir, 'release-key.asc');
  writeFileSync(trustedKey, keys.alpine.armoredPublic);
  const iso = createSyntheticIso({ dir: temp.dir, flavor: 'virt', scale: 0.02 });
  original = await mirrorFiles(
    [
      { file: FILE, source: media.tarball, flavor: 'alpine-rpi', arch: 'aarch64', version: '3.22.2' },
      {
        file: 'alpine-virt-3.22.2-x86_64.iso',
        source: iso.iso,
        flavor: 'alpine-virt',
        arch: 'x86_64',
        version: '3.22.2',
      },
    ],
    keys.alpine.privateKey,
  );
  sha256 = createHash('sha256').update(readFileSync(media.tarball)).digest('hex');
  mirror = await startMirror(new Map(original));
});
afterAll(async () => {
  await mirror.close();
  temp.cleanup();
});
afterEach(() => {
  mirror.faults.clear();
  mirror.requests.length = 0;
  mirror.files.clear();
  for (const [key, value] of original) mirror.files.set(key, value);
});

function options(overrides: Partial<FetchReleaseOptions> = {}): FetchReleaseOptions {
  cacheCounter += 1;
  return {
    board: 'rpi',
    arch: 'aarch64',
    version: '3.22.2',
    mirrors: [`${mirror.url}/alpine`],
    trustedKeyFile: trustedKey,
    cacheDir: path.join(temp.dir, `cache-${cacheCounter}`),
    env: {},
    timeouts: { connectMs: 2000, headersMs: 2000, idleMs: 400 },
    retry: { retries: 3, backoffMs: 20 },
    ...overrides,
  };
}

const fileRequests = () => mirror.requests.filter((request) => request.path === PATH);
const noPartials = (cacheDir: string) => expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]);

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('fetching boot media from a mirror', () => {
  it('downloads, verifies and caches; the next fetch comes from the cache', async () => {
    const settings = options();
    const first = await fetchRelease(settings);
    expect(first).toMatchObject({ fileName: FILE, version: '3.22.2', branch: 'v3.22', sha256, fromCache: false });
    expect(first.path).toBe(path.join(settings.cacheDir, 'files', sha256, FILE));
    expect(createHash('sha256').update(readFileSync(first.path)).digest('hex')).toBe(sha256);
    mirror.requests.length = 0;
    const again = await fetchRelease(settings);
    expect(again).toMatchObject({ path: first.path, fromCache: true });
    expect(fileRequests()).toEqual([]);
  });

  it('uses latest-stable from the release index when no version is pinned', async () => {
    const fetched = await fetchRelease(options({ version: undefined, branch: 'latest-stable' }));
    expect(fetched).toMatchObject({ version: '3.22.2', sha256 });
  });

  it('resumes with Range after the server drops the connection mid-body', async () => {
    mirror.faults.set(PATH, { dropAfter: 1 << 20 });
    const fetched = await fetchRelease(options());
    expect(fetched.sha256).toBe(sha256);
    const ranges = fileRequests().map((request) => request.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1 << 20);
  });

  it('resumes after the server stalls (idle timeout)', async () => {
    mirror.faults.set(PATH, { stallAfter: 300_000 });
    const notes: string[] = [];
    const fetched = await fetchRelease(options({ onNote: (text) => notes.push(text) }));
    expect(fetched.sha256).toBe(sha256);
    expect(notes.join('\n')).toMatch(/stopped sending data/);
    expect(fileRequests().at(-1)?.range).toBe('bytes=300000-');
  });

  it('retries a 500 and succeeds', async () => {
    mirror.faults.set(PATH, { statuses: [500, 503] });
    expect((await fetchRelease(options())).sha256).toBe(sha256);
    expect(fileRequests()).toHaveLength(3);
  });

  it('starts over when the server ignores the range', async () => {
    mirror.faults.set(PATH, { dropAfter: 100_000, ignoreRange: true });
    expect((await fetchRelease(options())).sha256).toBe(sha256);
  });

  it('says the file is not there (404), naming it', async () => {
    const settings = options({ version: '3.22.9' });
    const error = await failure(fetchRelease(settings));
    expect(error.code).toBe('not-found');
    expect(error.message).toMatch(/cannot find alpine-rpi-3\.22\.9-aarch64\.tar\.gz/);
  });

  it('gives up on a server that always stalls, saying why', async () => {
    const settings = options({ retry: { retries: 1, backoffMs: 10 } });
    mirror.faults.set(PATH, { stallAfter: 1000 });
    const stalls = setInterval(() => {
      if (!mirror.faults.get(PATH)?.stallAfter) mirror.faults.set(PATH, { stallAfter: 1000 });
    }, 5);
    try {
      const error = await failure(fetchRelease(settings));
      expect(error.message).toMatch(/failed on every mirror[\s\S]*stopped sending data for 0.4 s/);
      noPartials(settings.cacheDir);
    } finally {
      clearInterval(stalls);
    }
  });

  it('stops when cancelled, leaving nothing in the cache', async () => {
    const controller = new AbortController();
    const settings = options({ signal: controller.signal });
    mirror.faults.set(PATH, { stallAfter: 200_000 });
    const pending = fetchRelease({ ...settings, timeouts: { connectMs: 2000, headersMs: 2000, idleMs: 10_000 } });
    setTimeout(() => controller.abort(), 300);
    const error = await failure(pending);
    expect(error.code).toBe('cancelled');
    noPartials(settings.cacheDir);
    expect(readdirSync(settings.cacheDir)).not.toContain('files');
  });

  it('falls back to the next mirror', async () => {
    const fetched = await fetchRelease(options({ mirrors: [`${mirror.url}/missing`, `${mirror.url}/alpine`] }));
    expect(fetched.sha256).toBe(sha256);
  });

  it('refuses a file of the wrong size and deletes it', async () => {
    const settings = options({ version: undefined });
    const data = original.get(PATH) as Buffer;
    mirror.files.set(PATH, Buffer.concat([data, Buffer.from('extra')]));
    const error = await failure(fetchRelease(settings));
    expect(error.message).toMatch(/serves \d+ bytes but the release index says \d+|size check failed/);
    noPartials(settings.cacheDir);
    expect(readdirSync(settings.cacheDir)).not.toContain('files');
  });

  it('refuses a tampered body (checksum) and deletes it', async () => {
    const settings = options();
    const data = Buffer.from(original.get(PATH) as Buffer);
    data[1000] = (data[1000] ?? 0) ^ 0xff;
    mirror.files.set(PATH, data);
    const error = await failure(fetchRelease(settings));
    expect(error.message).toMatch(/^checksum check failed: the SHA-256 is [0-9a-f]{64}, the release index says/);
    noPartials(settings.cacheDir);
  });

  it('refuses a file signed by another key', async () => {
    mirror.files.set(
      `${PATH}.asc`,
      Buffer.from(await detachedSignature(original.get(PATH) as Buffer, strangerKey.privateKey)),
    );
    const settings = options();
    const error = await failure(fetchRelease(settings));
    expect(error.message).toMatch(/^signed by key [0-9A-F]{16}, which is not the .*release-key\.asc/);
    expect(error.hint).toMatch(/--trusted-key/);
    noPartials(settings.cacheDir);
  });

  it('refuses a corrupt .asc', async () => {
    mirror.files.set(
      `${PATH}.asc`,
      Buffer.from('-----BEGIN PGP SIGNATURE-----\n\nnot a signature\n-----END PGP SIGNATURE-----\n'),
    );
    const error = await failure(fetchRelease(options()));
    expect(error.message).toMatch(/not a valid OpenPGP signature/);
  });

  it("refuses everything when Alpine's built-in key is trusted and the test key signed", async () => {
    const error = await failure(fetchRelease(options({ trustedKeyFile: undefined })));
    expect(error.message).toMatch(
      /which is not the Alpine release key 0482 D840 22F5 2DF1 C4E7 CD43 293A CD09 07D9 495A/,
    );
  });

  it('notices a cached file corrupted later and downloads it again', async () => {
    const settings = options();
    const first = await fetchRelease(settings);
    const data = readFileSync(first.path);
    data[5] = (data[5] ?? 0) ^ 1;
    writeFileSync(first.path, data);
    mirror.requests.length = 0;
    const again = await fetchRelease(settings);
    expect(again.fromCache).toBe(false);
    expect(createHash('sha256').update(readFileSync(again.path)).digest('hex')).toBe(sha256);
    expect(fileRequests()).toHaveLength(1);
  });

  it('works offline from the cache, and says when the cache does not have it', async () => {
    const settings = options({ version: undefined });
    await fetchRelease(settings);
    mirror.requests.length = 0;
    expect((await fetchRelease({ ...settings, offline: true })).fromCache).toBe(true);
    expect(mirror.requests).toEqual([]);
    const error = await failure(fetchRelease({ ...options({ version: undefined }), offline: true }));
    expect(error.message).toMatch(/no release index .* is cached/);
  });

  it('goes through the proxy named in the environment, and around it for NO_PROXY', async () => {
    // A forward proxy that tunnels with CONNECT, as undici asks proxies to.
    const seen: string[] = [];
    const proxy = http.createServer((_request, response) => response.writeHead(405).end());
    proxy.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      seen.push(request.url ?? '');
      const [host, port] = (request.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      expect((await fetchRelease(options({ env: { HTTP_PROXY: proxyUrl } }))).sha256).toBe(sha256);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]).toBe(new URL(mirror.url).host);
      seen.length = 0;
      expect((await fetchRelease(options({ env: { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } }))).sha256).toBe(
        sha256,
      );
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

/** The options that point a command at the test mirror, its key and a cache. */
const mirrorOptions = (cacheDir: string) => [
  '--mirror',
  `${mirror.url}/alpine`,
  '--trusted-key',
  trustedKey,
  '--cache-dir',
  cacheDir,
];

describe('apkovl fetch', () => {
  const run = runCliAsync;
  const args = (cacheDir: string) => [
    'fetch',
    '--board',
    'rpi',
    '--arch',
    'aarch64',
    '--version',
    '3.22.2',
    ...mirrorOptions(cacheDir),
  ];

  it('prints JSON progress lines, then the verified path', async () => {
    const cacheDir = path.join(temp.dir, 'cli-cache');
    const result = await run([...args(cacheDir), '--json']);
    expect(result.status, result.stderr).toBe(0);
    const progress = progressEvents(result.stdout);
    const downloads = progress.filter((event) => event.phase === 'download');
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.at(-1)).toMatchObject({
      label: `Downloading ${FILE}`,
      total: (original.get(PATH) as Buffer).length,
    });
    expect(progress.some((event) => event.phase === 'verify')).toBe(true);
    expect(wireLines(result.stdout).at(-1)).toMatchObject({ type: 'response', command: 'release.fetch' });
    expect(responseValue(result.stdout)).toMatchObject({ sha256, fromCache: false });
    const plain = await run(args(cacheDir));
    expect(plain.stdout.trim()).toBe(path.join(cacheDir, 'files', sha256, FILE));
  });

  it('lists releases, and lists and prunes the cache', async () => {
    const listed = await run(['releases', '--arch', 'x86_64', '--branch', 'v3.22', '--mirror', `${mirror.url}/alpine`]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/alpine-virt\s+3\.22\.2 .* alpine-virt-3\.22\.2-x86_64\.iso/);
    const cacheDir = path.join(temp.dir, 'cli-cache');
    const ls = await run(['cache', 'ls', '--cache-dir', cacheDir, '--json']);
    const entries = responseValue<{ entries: { fileName: string }[] }>(ls.stdout).entries;
    expect(entries.map((entry) => entry.fileName)).toEqual([FILE]);
    expect((await run(['cache', 'prune', '--cache-dir', cacheDir])).stdout).toMatch(/Removed 0 file/);
    expect((await run(['cache', 'prune', '--all', '--cache-dir', cacheDir])).stdout).toMatch(
      `Removed 1 file(s): ${FILE}`,
    );
    expect((await run(['cache', 'ls', '--cache-dir', cacheDir])).stdout).toMatch(/\(empty\)/);
  });

  it('two processes fetching the same file download it once', async () => {
    const cacheDir = path.join(temp.dir, 'shared-cache');
    mirror.requests.length = 0;
    const [first, second] = await Promise.all([run(args(cacheDir)), run(args(cacheDir))]);
    expect(first.status, first.stderr).toBe(0);
    expect(second.status, second.stderr).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    expect(fileRequests()).toHaveLength(1);
  });
});

describe('apkovl build without --boot-media', () => {
  const fixtures = path.resolve('test/fixtures/definitions');
  const build = (definition: string, output: string, cacheDir: string, extra: string[] = []) =>
    runCliAsync([
      'build',
      path.join(fixtures, definition),
      '--secrets',
      path.join(fixtures, 'secrets.yml'),
      '--output',
      output,
      '--size',
      '128MiB',
      ...mirrorOptions(cacheDir),
      '--json',
      ...extra,
    ]);
  const result = (stdout: string) => responseValue(stdout);

  it('fetches the Raspberry Pi media the definition calls for, then works offline from the cache', async () => {
    const cacheDir = path.join(temp.dir, 'build-cache');
    const first = await build('kiosk.yml', path.join(temp.dir, 'fetched-kiosk.img'), cacheDir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/"phase":"download"/);
    expect(result(first.stdout)).toMatchObject({
      bootMedia: { verified: true },
      alpineRelease: 'alpine-rpi-3.22.2 251009',
      overlay: { fileName: 'kiosk-hall.apkovl.tar.gz' },
    });
    mirror.requests.length = 0;
    const offline = await build('kiosk.yml', path.join(temp.dir, 'offline-kiosk.img'), cacheDir, ['--offline']);
    expect(offline.status, offline.stderr).toBe(0);
    expect(mirror.requests).toEqual([]);
  });

  it('makes an x86_64 UEFI stick from the ISO the definition calls for', async () => {
    const output = path.join(temp.dir, 'fetched-edge.img');
    const built = await build('persistence-x86.yml', output, path.join(temp.dir, 'x86-cache'));
    expect(built.status, `${built.stderr}\n${mirror.requests.map((request) => request.path).join('\n')}`).toBe(0);
    expect(result(built.stdout)).toMatchObject({
      alpineRelease: 'alpine-virt-3.22.2 251009',
      filesystem: { label: 'EDGE-1' },
      overlay: { fileName: 'edge-1.apkovl.tar.gz' },
    });
    const paths = mtoolsPaths(output);
    expect(paths).toEqual(
      expect.arrayContaining([
        'EFI/BOOT/BOOTX64.EFI',
        'boot/grub/grub.cfg',
        'boot/vmlinuz-lts',
        'edge-1.apkovl.tar.gz',
        'cache',
      ]),
    );
    expect(fsckFat(output, 1 << 20, 128 << 20).status).toBe(0);
  });
});
