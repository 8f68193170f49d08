import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchApkIndexes,
  verifyApkFile,
  verifyApkRange,
  type FetchApkIndexOptions,
} from '../../main/services/apk/index-fetch.js';
import { ApkSignatureError, apkKeyring, verifyApkSignature } from '../../main/services/apk/signature.js';
import { bufferRange } from '../../main/services/boot-media/gzip-end.js';
import { download } from '../../main/services/releases/download.js';
import { createDispatcher, DEFAULT_TIMEOUTS } from '../../main/services/releases/http.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import {
  buildApk,
  flipByte,
  makeApkKey,
  syntheticApkRepo,
  type SyntheticApkKey,
  type SyntheticApkRepo,
  type SyntheticPackage,
} from '../helpers/synthetic-apk-repo.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Package indexes from a synthetic signed repository on 127.0.0.1: signature checks against the
 * trusted keys (here a test key given as --apk-key), and a cache that never holds an index whose
 * signature failed.
 */

const ARCH = 'aarch64';
const BRANCH = 'v3.22';
const main: SyntheticPackage[] = [
  { name: 'musl', version: '1.2.5-r10', provides: ['so:libc.musl-aarch64.so.1=1'] },
  { name: 'busybox', version: '1.37.0-r19', depends: ['so:libc.musl-aarch64.so.1'], provides: ['cmd:sh=1.37.0-r19'] },
  {
    name: 'payload',
    version: '2.0-r1',
    files: { 'usr/share/payload/blob': Buffer.alloc(200_000, 7), 'usr/bin/payload': '#!/bin/sh\necho hi\n' },
  },
];
const community: SyntheticPackage[] = [{ name: 'cage', version: '0.2.0-r0', depends: ['musl'] }];

let temp: ReturnType<typeof makeTempDir>;
let key: SyntheticApkKey;
let keyFile: string;
let stranger: SyntheticApkKey;
let strangerFile: string;
let good: SyntheticApkRepo;
let server: MirrorServer;
let cacheCounter = 0;

function serve(repo: SyntheticApkRepo): void {
  server.files.clear();
  for (const [name, data] of repo.files) server.files.set(name, data);
}

function options(overrides: Partial<FetchApkIndexOptions> = {}): FetchApkIndexOptions {
  cacheCounter += 1;
  return {
    branch: BRANCH,
    arch: ARCH,
    repositories: ['main', 'community'],
    mirrors: [`${server.url}/alpine`],
    apkKeys: [keyFile],
    cacheDir: path.join(temp.dir, `cache-${cacheCounter}`),
    env: {},
    retry: { retries: 0, backoffMs: 1 },
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<ApkSignatureError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApkSignatureError);
  return error as ApkSignatureError;
}

beforeAll(async () => {
  temp = makeTempDir();
  key = makeApkKey('apkovl-test@example.org-5f3a0b1c.rsa.pub');
  stranger = makeApkKey('stranger@example.org-99999999.rsa.pub');
  keyFile = path.join(temp.dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  strangerFile = path.join(temp.dir, stranger.name);
  writeFileSync(strangerFile, stranger.publicPem);
  good = syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main, community }, key });
  server = await startMirror(new Map());
});
afterAll(async () => {
  await server.close();
  temp.cleanup();
});

describe('apk repository indexes from a mirror', () => {
  it('downloads and verifies each index with the --apk-key key, and returns its text', async () => {
    serve(good);
    const events: ProgressEvent[] = [];
    const opts = options({ onProgress: (event) => events.push(event) });
    const indexes = await fetchApkIndexes(opts);
    expect(indexes.map((index) => index.repository)).toEqual(['main', 'community']);
    const [mainIndex, communityIndex] = indexes;
    expect(mainIndex?.text).toBe(good.texts.get('main'));
    expect(communityIndex?.text).toBe(good.texts.get('community'));
    expect(mainIndex?.text).toContain('P:busybox\nV:1.37.0-r19\n');
    expect(mainIndex?.description).toBe(`${BRANCH}-main (synthetic)`);
    expect(mainIndex?.keyName).toBe(key.name);
    expect(mainIndex?.signatureType).toBe('RSA256');
    expect(mainIndex?.url).toBe(`${server.url}/alpine/${BRANCH}/main/${ARCH}/APKINDEX.tar.gz`);
    expect(mainIndex?.fromCache).toBe(false);
    const served = good.files.get(good.indexPath('main')) as Buffer;
    expect(mainIndex?.size).toBe(served.length);
    expect(readFileSync(mainIndex?.path ?? '')).toEqual(served);
    expect(events.some((event) => event.phase === 'download' && event.bytes === served.length)).toBe(true);
    expect(events.some((event) => event.phase === 'verify')).toBe(true);
    expect(readdirSync(path.join(opts.cacheDir, 'tmp'))).toEqual([]);

    // Offline: the same indexes from the cache, their signature checked again.
    server.files.clear();
    const offline = await fetchApkIndexes({ ...opts, offline: true });
    expect(offline.map((index) => [index.repository, index.fromCache, index.sha256])).toEqual(
      indexes.map((index) => [index.repository, true, index.sha256]),
    );
    expect(offline[0]?.text).toBe(mainIndex?.text);
    // ...and refused when the key that signed them is no longer trusted.
    const untrusted = await rejection(fetchApkIndexes({ ...opts, offline: true, apkKeys: [] }));
    expect(untrusted.problem).toBe('unknown-key');
  });

  it('refuses an index signed by a key that is not trusted, naming it and --apk-key', async () => {
    serve(syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key, indexKey: stranger }));
    const opts = options({ repositories: ['main'] });
    const error = await rejection(fetchApkIndexes(opts));
    expect(error.problem).toBe('unknown-key');
    expect(error.message).toContain(stranger.name);
    expect(error.message).toContain('not trusted for aarch64');
    expect(error.hint).toContain('--apk-key FILE');
    expect(error.hint).toContain(stranger.name);
    expect(readdirSync(path.join(opts.cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(path.join(opts.cacheDir, 'files'))).toBe(false);
    // Trusting that key too (the apkKeys option) accepts it.
    const indexes = await fetchApkIndexes({ ...opts, apkKeys: [keyFile, strangerFile] });
    expect(indexes[0]?.keyName).toBe(stranger.name);
  });

  it("refuses Alpine's own key names when the signature is by another key under that name", async () => {
    const impostor = makeApkKey('alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub');
    serve(syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key: impostor }));
    const error = await rejection(fetchApkIndexes(options({ repositories: ['main'], apkKeys: [] })));
    expect(error.problem).toBe('bad-signature');
    expect(error.message).toContain('alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub');
  });

  it('refuses a tampered index (other content under the original signature) and caches nothing', async () => {
    const repo = syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key });
    repo.tamperIndex('main', `${repo.texts.get('main') ?? ''}C:Q1AAAA\nP:evil\nV:1-r0\nA:aarch64\nS:1\nI:1\n\n`);
    serve(repo);
    const opts = options({ repositories: ['main'] });
    const error = await rejection(fetchApkIndexes(opts));
    expect(error.problem).toBe('bad-signature');
    expect(error.message).toMatch(/RSA256 signature by .* does not match bytes \d+-\d+/);
    expect(error.hint).toContain('nothing was cached');
    expect(readdirSync(path.join(opts.cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(path.join(opts.cacheDir, 'files'))).toBe(false);
    expect(existsSync(path.join(opts.cacheDir, 'apk-indexes'))).toBe(false);
  });

  it('refuses an index with a flipped byte as damaged gzip data, with its offset', async () => {
    const repo = syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key });
    const original = repo.files.get(repo.indexPath('main')) as Buffer;
    serve(repo);
    server.files.set(repo.indexPath('main'), flipByte(original, -30));
    const opts = options({ repositories: ['main'] });
    const error = await rejection(fetchApkIndexes(opts));
    expect(['corrupt', 'bad-signature']).toContain(error.problem);
    expect(`${error.message} ${error.location ?? ''}`).toMatch(/byte \d+/);
    expect(readdirSync(path.join(opts.cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(path.join(opts.cacheDir, 'files'))).toBe(false);
    // A truncated index says so.
    server.files.set(repo.indexPath('main'), original.subarray(0, original.length - 100));
    const truncated = await rejection(fetchApkIndexes(options({ repositories: ['main'] })));
    expect(truncated.problem).toBe('corrupt');
    expect(truncated.message).toContain('truncated');
    // Data appended after the signed index is refused.
    server.files.set(repo.indexPath('main'), Buffer.concat([original, Buffer.from('appended')]));
    const appended = await rejection(fetchApkIndexes(options({ repositories: ['main'] })));
    expect(appended.message).toContain('after the signed index');
  });

  it('refuses an unsigned index', async () => {
    serve(syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key, indexKey: null }));
    const opts = options({ repositories: ['main'] });
    const error = await rejection(fetchApkIndexes(opts));
    expect(error.problem).toBe('unsigned');
    expect(error.message).toContain('not signed');
    expect(error.message).toContain('DESCRIPTION');
    expect(readdirSync(path.join(opts.cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(path.join(opts.cacheDir, 'files'))).toBe(false);
  });

  it('accepts SHA-1 (.SIGN.RSA) and SHA-512 (.SIGN.RSA512) signatures too', async () => {
    for (const kind of ['RSA', 'RSA512'] as const) {
      serve(syntheticApkRepo({ branch: BRANCH, arch: ARCH, repositories: { main }, key, kind }));
      const [index] = await fetchApkIndexes(options({ repositories: ['main'] }));
      expect(index?.signatureType).toBe(kind);
    }
  });

  it('an --apk-key file that is not an RSA public key is refused naming the file', async () => {
    const bad = path.join(temp.dir, 'not-a-key.rsa.pub');
    writeFileSync(bad, 'hello\n');
    await expect(fetchApkIndexes(options({ apkKeys: [bad] }))).rejects.toThrow(/not a PEM public key/);
    await expect(fetchApkIndexes(options({ apkKeys: [path.join(temp.dir, 'missing.pub')] }))).rejects.toMatchObject({
      location: expect.stringContaining('--apk-key') as string,
    });
  });

  it('an unknown repository on the mirror is not found', async () => {
    serve(good);
    await expect(fetchApkIndexes(options({ repositories: ['testing'] }))).rejects.toMatchObject({ code: 'not-found' });
    await expect(fetchApkIndexes(options({ repositories: ['../etc'] }))).rejects.toMatchObject({ code: 'usage' });
  });
});

describe('packages checked against their index entry', () => {
  const entryOf = (fileName: string) => {
    const apk = good.packages.get('main')?.find((candidate) => candidate.fileName === fileName);
    if (apk === undefined) throw new Error(fileName);
    // The entry as the index lists it: S: and C: read back from the text.
    const block = (good.texts.get('main') ?? '').split('\n\n').find((text) => text.includes(`P:${apk.package.name}\n`));
    const field = (letter: string) => new RegExp(`^${letter}:(.*)$`, 'm').exec(block ?? '')?.[1] ?? '';
    return {
      apk,
      entry: { name: field('P'), version: field('V'), size: Number(field('S')), checksum: field('C') },
    };
  };

  it('a package from the mirror matches its entry (size, C: over the control member, datahash)', async () => {
    const { apk, entry } = entryOf('payload-2.0-r1.apk');
    const file = path.join(temp.dir, apk.fileName);
    writeFileSync(file, apk.data);
    const verified = await verifyApkFile(file, entry);
    expect(verified.checksum).toBe(entry.checksum);
    expect(verified.size).toBe(apk.data.length);
    expect(verified.datahash).toBe(apk.datahash);
    // The package's own signature (over the control member) holds with the repository key.
    const signature = await verifyApkSignature(bufferRange(apk.data), await apkKeyring(ARCH, [keyFile]), file);
    expect(signature).toMatchObject({ keyName: key.name, signedStart: apk.signatureEnd, signedEnd: apk.controlEnd });
  });

  it('a tampered package is refused: data (datahash), control (C:) and size (S:)', async () => {
    const { apk, entry } = entryOf('payload-2.0-r1.apk');
    const data = flipByte(apk.data, apk.controlEnd + 200);
    await expect(verifyApkRange(bufferRange(data), entry, 'payload.apk')).rejects.toThrow(
      /data member's SHA-256 is [0-9a-f]{64}, the package's .PKGINFO says/,
    );
    const control = flipByte(apk.data, apk.signatureEnd + 20);
    await expect(verifyApkRange(bufferRange(control), entry, 'payload.apk')).rejects.toThrow(
      /control member|damaged gzip|checksum/,
    );
    // Another package rebuilt with other content: sound gzip, its own valid signature, but not the indexed one.
    const rebuilt = buildApk({ ...apk.package, files: { 'usr/bin/payload': 'evil' } }, ARCH, { key });
    await expect(
      verifyApkRange(bufferRange(rebuilt.data), { ...entry, size: rebuilt.data.length }, 'payload.apk'),
    ).rejects.toThrow(/control member's checksum is Q1.*, the index says Q1.* \(C:\)/);
    const file = path.join(temp.dir, 'short.apk');
    writeFileSync(file, apk.data.subarray(0, apk.data.length - 1));
    await expect(verifyApkFile(file, entry)).rejects.toThrow(/the index says \d+ \(S:\)/);
  });

  it('a package downloaded from the mirror is checked; one served with a flipped byte is refused', async () => {
    const { apk, entry } = entryOf('busybox-1.37.0-r19.apk');
    serve(good);
    const apkPath = good.apkPath('main', apk.fileName);
    server.files.set(apkPath, flipByte(apk.data, -12));
    const timeouts = DEFAULT_TIMEOUTS;
    const fetchTo = async (destination: string) =>
      download({
        urls: [`${server.url}${apkPath}`],
        destination,
        dispatcher: createDispatcher({}, timeouts),
        timeouts,
        retry: { retries: 0, backoffMs: 1 },
      });
    const file = path.join(temp.dir, `dl-${apk.fileName}`);
    await fetchTo(file);
    await expect(verifyApkFile(file, entry)).rejects.toThrow(/data member's SHA-256 is/);
    server.files.set(apkPath, apk.data);
    await fetchTo(file);
    await expect(verifyApkFile(file, entry)).resolves.toMatchObject({ checksum: entry.checksum, size: entry.size });
  });

  it('an unsigned package (control member first) is checked the same way', async () => {
    const { apk } = entryOf('busybox-1.37.0-r19.apk');
    const unsigned = buildApk(apk.package, ARCH, { key: null });
    const entry = { name: 'busybox', version: '1.37.0-r19', size: unsigned.data.length, checksum: unsigned.checksum };
    expect(unsigned.checksum).toBe(apk.checksum); // C: does not depend on the package's signature
    await expect(verifyApkRange(bufferRange(unsigned.data), entry, 'busybox.apk')).resolves.toMatchObject({
      datahash: unsigned.datahash,
    });
  });
});
