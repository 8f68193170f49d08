import { existsSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteTexts, responseEnvelope, runCliAsync } from '../helpers/cli.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * What `fetch`, `releases` and `build` say when what is asked for cannot exist (usage errors
 * before any network access), when the mirror does not have a branch, and while the mirror
 * cannot be reached at all (a note per retry).
 */

let temp: ReturnType<typeof makeTempDir>;
/** A mirror with nothing on it: every path is 404, every request recorded. */
let empty: MirrorServer;
/** A loopback URL where nothing listens: connection refused. */
let refused: string;
const fixtures = path.resolve('test/fixtures/definitions');

beforeAll(async () => {
  temp = makeTempDir();
  empty = await startMirror(new Map());
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  refused = `http://127.0.0.1:${port}/alpine`;
});
afterAll(async () => {
  await empty.close();
  temp.cleanup();
});

const fetchArgs = (...extra: string[]) => [
  'fetch',
  ...extra,
  '--mirror',
  `${empty.url}/alpine`,
  '--cache-dir',
  path.join(temp.dir, 'cache'),
];

describe('fetch arguments are checked before any network access', () => {
  it('refuses a board with an architecture it does not boot, listing the valid ones (exit 2)', async () => {
    const [uefi, pi, json] = await Promise.all([
      runCliAsync(fetchArgs('--board', 'x86_64-uefi', '--arch', 'aarch64')),
      runCliAsync(fetchArgs('--board', 'rpi', '--arch', 'x86_64')),
      runCliAsync(fetchArgs('--board', 'rpi', '--arch', 'x86_64', '--json')),
    ]);
    expect(uefi.status).toBe(2);
    expect(uefi.stderr).toMatch(/--arch: the x86_64-uefi board does not boot aarch64/);
    expect(uefi.stderr).toMatch(/hint: x86_64-uefi takes --arch x86_64; aarch64 is for --board rpi/);
    expect(pi.status).toBe(2);
    expect(pi.stderr).toMatch(
      /hint: rpi takes --arch aarch64, armv7, armhf; x86_64 is for --board x86_64, x86_64-uefi/,
    );
    expect(json.status).toBe(2);
    expect(responseEnvelope(json.stdout)).toMatchObject({ ok: false, error: { code: 'usage', location: '--arch' } });
    expect(empty.requests).toEqual([]);
  });

  it('refuses a branch or version of the wrong form, and both at once (exit 2)', async () => {
    const rpi = ['--board', 'rpi', '--arch', 'aarch64'];
    const [branch, version, both, flavor, releases] = await Promise.all([
      runCliAsync(fetchArgs(...rpi, '--branch', 'foo')),
      runCliAsync(fetchArgs(...rpi, '--version', '3.22')),
      runCliAsync(fetchArgs(...rpi, '--branch', 'v3.22', '--version', '3.22.2')),
      runCliAsync(fetchArgs('--board', 'x86_64-uefi', '--arch', 'x86_64', '--flavor', 'tiny')),
      runCliAsync(['releases', '--branch', 'foo', '--mirror', `${empty.url}/alpine`]),
    ]);
    expect(branch.status).toBe(2);
    expect(branch.stderr).toMatch(
      /--branch: "foo" is not a branch name\n {2}hint: use latest-stable, edge, or a release branch such as v3\.22/,
    );
    expect(version.status).toBe(2);
    expect(version.stderr).toMatch(/"3\.22" is not an exact release\n {2}hint: use a version such as 3\.22\.2/);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give --branch or --version, not both/);
    expect(flavor.status).toBe(2);
    expect(flavor.stderr).toMatch(/standard, extended, virt/);
    expect(releases.status).toBe(2);
    expect(releases.stderr).toMatch(/"foo" is not a branch name/);
    expect(empty.requests).toEqual([]);
  });

  it('says the mirror has no such branch when its release index is not there (exit 1)', async () => {
    const rpi = ['--board', 'rpi', '--arch', 'aarch64'];
    const [branch, version, releases] = await Promise.all([
      runCliAsync(fetchArgs(...rpi, '--branch', 'v9.99')),
      runCliAsync(fetchArgs(...rpi, '--version', '9.99.1')),
      runCliAsync(['releases', '--branch', 'v9.99', '--mirror', `${empty.url}/alpine`]),
    ]);
    for (const result of [branch, version, releases]) {
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/the mirror has no branch v9\.99 \(no release index for aarch64\)/);
      expect(result.stderr).toMatch(
        /hint: use latest-stable, edge or a release branch the mirror has.*apkovl releases/,
      );
    }
    expect(empty.requests.map((request) => request.path)).toEqual(
      Array.from({ length: 3 }, () => '/alpine/v9.99/releases/aarch64/latest-releases.yaml'),
    );
  });
});

describe('a mirror that cannot be reached', () => {
  const retryLines = (text: string) => text.split('\n').filter((line) => /retry \d of \d/.test(line));

  it('shows each retry on stderr, or as JSON note lines, for fetch and build; then fails', async () => {
    const host = new URL(refused).host;
    const started = Date.now();
    const [plain, json, build, pinned] = await Promise.all([
      runCliAsync(['fetch', '--board', 'rpi', '--arch', 'aarch64', '--mirror', refused, '--cache-dir', temp.dir]),
      runCliAsync([
        'fetch',
        '--board',
        'rpi',
        '--arch',
        'aarch64',
        '--mirror',
        refused,
        '--cache-dir',
        temp.dir,
        '--json',
      ]),
      runCliAsync([
        'build',
        path.join(fixtures, 'minimal.yml'),
        '--output',
        path.join(temp.dir, 'unreachable.img'),
        '--mirror',
        refused,
        '--cache-dir',
        temp.dir,
      ]),
      // A pinned version is looked for by its .sha256 too, but not on a mirror that never answered.
      runCliAsync([
        'build',
        path.join(fixtures, 'kiosk.yml'),
        '--secrets',
        path.join(fixtures, 'secrets.yml'),
        '--output',
        path.join(temp.dir, 'unreachable-pinned.img'),
        '--mirror',
        refused,
        '--cache-dir',
        temp.dir,
        '--json',
      ]),
    ]);
    // Refused connections give up after two retries (1 s, then 2 s) instead of four.
    expect(Date.now() - started).toBeLessThan(20_000);

    expect(plain.status).toBe(1);
    expect(retryLines(plain.stderr)).toEqual([
      `note: reading the release index from ${host}: mirror unreachable (connection refused); retry 1 of 2 in 1 s`,
      `note: reading the release index from ${host}: mirror unreachable (connection refused); retry 2 of 2 in 2 s`,
    ]);
    expect(plain.stderr).toMatch(/apkovl: error: .*cannot read the release index/);

    expect(json.status).toBe(1);
    expect(noteTexts(json.stdout)).toEqual([
      expect.stringMatching(/connection refused\); retry 1 of 2 in 1 s$/),
      expect.stringMatching(/connection refused\); retry 2 of 2 in 2 s$/),
    ]);
    expect(responseEnvelope(json.stdout)).toMatchObject({ ok: false, error: { code: 'io' } });
    expect(json.stderr).not.toMatch(/note:/);

    expect(build.status).toBe(1);
    expect(retryLines(build.stderr)).toHaveLength(2);
    expect(existsSync(path.join(temp.dir, 'unreachable.img'))).toBe(false);

    expect(pinned.status).toBe(1);
    expect(noteTexts(pinned.stdout)).toHaveLength(2);
    expect(responseEnvelope(pinned.stdout)).toMatchObject({
      ok: false,
      error: { code: 'io', message: expect.stringMatching(/cannot/) },
    });
  });
});
