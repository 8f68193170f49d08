import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { fetchRelease, type FetchReleaseOptions } from '../../main/services/releases/fetch-release.js';
import { formatFingerprint } from '../../main/services/releases/fingerprint.js';
import { responseEnvelope, responseValue, runCliAsync } from '../helpers/cli.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { detachedSignature, makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Trust does not outlive its flag: media verified with a private mirror's key (--trusted-key)
 * are used later only when that key is given again.
 */

const FILE = 'alpine-rpi-3.22.2-aarch64.tar.gz';
const PATH = `/alpine/v3.22/releases/aarch64/${FILE}`;
const fixtures = path.resolve('test/fixtures/definitions');
let temp: ReturnType<typeof makeTempDir>;
let mirror: MirrorServer;
let original: Map<string, Buffer>;
/** The private mirror's key, which signed everything on the test mirror. */
let privateKeyFile: string;
let privateFingerprint: string;
/** Another key, which the mirror's signature is later made with. */
let otherKeys: Awaited<ReturnType<typeof makeSigningKeys>>['stranger'];
let otherKeyFile: string;
let otherFingerprint: string;
let counter = 0;

const fingerprintOf = async (armoredKey: string) => (await openpgp.readKey({ armoredKey })).getFingerprint();

beforeAll(async () => {
  temp = makeTempDir();
  const media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.02, overlayCount: 5, apkCount: 4 });
  const keys = await makeSigningKeys();
  otherKeys = keys.stranger;
  privateKeyFile = path.join(temp.dir, 'private-mirror.asc');
  writeFileSync(privateKeyFile, keys.alpine.armoredPublic);
  privateFingerprint = await fingerprintOf(keys.alpine.armoredPublic);
  otherKeyFile = path.join(temp.dir, 'other.asc');
  writeFileSync(otherKeyFile, keys.stranger.armoredPublic);
  otherFingerprint = await fingerprintOf(keys.stranger.armoredPublic);
  original = await mirrorFiles(
    [{ file: FILE, source: media.tarball, flavor: 'alpine-rpi', arch: 'aarch64', version: '3.22.2' }],
    keys.alpine.privateKey,
  );
  mirror = await startMirror(new Map(original));
});
afterAll(async () => {
  await mirror.close();
  temp.cleanup();
});
afterEach(() => {
  mirror.requests.length = 0;
  mirror.files.clear();
  for (const [key, value] of original) mirror.files.set(key, value);
});

const freshCache = () => path.join(temp.dir, `cache-${(counter += 1)}`);

function options(cacheDir: string, overrides: Partial<FetchReleaseOptions> = {}): FetchReleaseOptions {
  return {
    board: 'rpi',
    arch: 'aarch64',
    version: '3.22.2',
    mirrors: [`${mirror.url}/alpine`],
    cacheDir,
    env: {},
    timeouts: { connectMs: 2000, headersMs: 2000, idleMs: 2000 },
    retry: { retries: 1, backoffMs: 10 },
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('cached media and the key that verified them', () => {
  it('refuses offline use without the key that verified the media, naming it; works with it given again', async () => {
    const cacheDir = freshCache();
    const fetchArgs = ['fetch', '--board', 'rpi', '--arch', 'aarch64', '--version', '3.22.2'];
    const where = ['--mirror', `${mirror.url}/alpine`, '--cache-dir', cacheDir];
    const fetched = await runCliAsync([...fetchArgs, ...where, '--trusted-key', privateKeyFile]);
    expect(fetched.status, fetched.stderr).toBe(0);
    mirror.requests.length = 0;

    const shown = formatFingerprint(privateFingerprint);
    const refused = await runCliAsync([...fetchArgs, ...where, '--offline']);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`was verified with key ${shown}, which is not the Alpine release key`);
    expect(refused.stderr).toMatch(/hint: .*--trusted-key/);

    const json = await runCliAsync([...fetchArgs, ...where, '--offline', '--json']);
    expect(json.status).toBe(1);
    const envelope = responseEnvelope(json.stdout);
    expect(envelope).toMatchObject({ ok: false, error: { code: 'not-found', location: '--offline' } });
    expect(envelope.error?.message).toContain(shown);

    const build = (output: string, extra: string[]) =>
      runCliAsync([
        'build',
        path.join(fixtures, 'kiosk.yml'),
        '--secrets',
        path.join(fixtures, 'secrets.yml'),
        '--output',
        output,
        '--size',
        '64MiB',
        '--offline',
        '--cache-dir',
        cacheDir,
        ...extra,
      ]);
    const refusedBuild = await build(path.join(temp.dir, 'refused.img'), []);
    expect(refusedBuild.status).toBe(1);
    expect(refusedBuild.stderr).toContain(`was verified with key ${shown}`);
    expect(refusedBuild.stderr).toMatch(/hint: .*--trusted-key/);
    expect(existsSync(path.join(temp.dir, 'refused.img'))).toBe(false);

    const again = await runCliAsync([...fetchArgs, ...where, '--offline', '--trusted-key', privateKeyFile]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.trim()).toMatch(new RegExp(`${FILE}$`));
    const built = await build(path.join(temp.dir, 'trusted.img'), ['--trusted-key', privateKeyFile]);
    expect(built.status, built.stderr).toBe(0);
    expect(existsSync(path.join(temp.dir, 'trusted.img'))).toBe(true);
    expect(mirror.requests).toEqual([]);
  });

  it('online, checks the mirror signature of a cached file against the key trusted now instead of using it', async () => {
    const cacheDir = freshCache();
    const first = await fetchRelease(options(cacheDir, { trustedKeyFile: privateKeyFile }));
    expect(first).toMatchObject({ fromCache: false, signedBy: privateFingerprint });

    // Without any key (Alpine's is trusted) the mirror's signature is still the private key's.
    mirror.requests.length = 0;
    const refused = await failure(fetchRelease(options(cacheDir)));
    expect(refused.message).toContain(`was verified with key ${formatFingerprint(privateFingerprint)}`);
    expect(refused.message).toMatch(/no mirror has a signature of it by a trusted key/);
    expect(refused.hint).toMatch(/--trusted-key/);
    expect(mirror.requests.map((request) => request.path)).toContain(`${PATH}.asc`);
    expect(mirror.requests.map((request) => request.path)).not.toContain(PATH);

    // The mirror now serves a signature by another key, and that key is trusted: the cached copy
    // is checked against it and used, without downloading the file again.
    mirror.files.set(
      `${PATH}.asc`,
      Buffer.from(await detachedSignature(original.get(PATH) as Buffer, otherKeys.privateKey)),
    );
    mirror.requests.length = 0;
    const notes: string[] = [];
    const checked = await fetchRelease(
      options(cacheDir, { trustedKeyFile: otherKeyFile, onNote: (text) => notes.push(text) }),
    );
    expect(checked).toMatchObject({ path: first.path, fromCache: true, signedBy: otherFingerprint });
    expect(mirror.requests.map((request) => request.path)).not.toContain(PATH);
    expect(notes.join('\n')).toMatch(/checking the mirror's signature/);

    // Both keys have now vouched for this content: either one given again works offline.
    for (const key of [privateKeyFile, otherKeyFile]) {
      const offline = await fetchRelease(options(cacheDir, { trustedKeyFile: key, offline: true }));
      expect(offline.fromCache).toBe(true);
    }
    const offlineWithout = await failure(fetchRelease(options(cacheDir, { offline: true })));
    expect(offlineWithout.message).toMatch(/verified with key .* and key .*, which is not the Alpine release key/);
  });

  it('cache ls shows which key signed each entry', async () => {
    const cacheDir = freshCache();
    await fetchRelease(options(cacheDir, { trustedKeyFile: privateKeyFile }));
    const listed = await runCliAsync(['cache', 'ls', '--cache-dir', cacheDir]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${FILE} .* signed by key ${formatFingerprint(privateFingerprint)}\\n`));
    const json = await runCliAsync(['cache', 'ls', '--cache-dir', cacheDir, '--json']);
    const entries = responseValue<{ entries: { fileName: string; signedBy: string }[] }>(json.stdout).entries;
    expect(entries).toEqual([expect.objectContaining({ fileName: FILE, signedBy: privateFingerprint })]);
  });
});
