import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { packageSatisfies } from '../../../main/services/apk/catalog.js';
import {
  type ApkDependency,
  type ApkIndex,
  parseApkIndex,
  parseDependency,
} from '../../../main/services/apk/index-parse.js';
import { type ResolveRequest, resolvePackages } from '../../../main/services/apk/resolve.js';
import { syntheticApkIndex } from '../../helpers/synthetic-apk-index.js';

interface Spec {
  D?: string;
  p?: string;
  i?: string;
  k?: number;
  A?: string;
}

/** One APKINDEX record: name-version plus optional fields, sizes derived from the name. */
function record(id: string, spec: Spec = {}): string {
  const split = id.match(/^(.*?)-(\d.*)$/);
  if (split === null) throw new Error(`bad test package id ${id}`);
  const [, name, version] = split as [string, string, string];
  const lines = [
    `C:Q1${createHash('sha1').update(id).digest('base64')}`,
    `P:${name}`,
    `V:${version}`,
    `A:${spec.A ?? 'x86_64'}`,
    `S:${id.length * 100}`,
    `I:${id.length * 1000}`,
    `T:${name} for tests`,
  ];
  if (spec.D !== undefined) lines.push(`D:${spec.D}`);
  if (spec.p !== undefined) lines.push(`p:${spec.p}`);
  if (spec.i !== undefined) lines.push(`i:${spec.i}`);
  if (spec.k !== undefined) lines.push(`k:${spec.k}`);
  return `${lines.join('\n')}\n`;
}

function index(source: string, packages: [string, Spec?][]): ApkIndex {
  return parseApkIndex(packages.map(([id, spec]) => record(id, spec)).join('\n'), { source });
}

const base: [string, Spec?][] = [
  ['alpine-base-3.22.0-r0', { D: 'busybox musl' }],
  ['busybox-1.37.0-r19', { D: 'so:libc.musl-x86_64.so.1', p: 'cmd:busybox=1.37.0-r19 cmd:sh=1.37.0-r19' }],
  ['musl-1.2.5-r9', { p: 'so:libc.musl-x86_64.so.1=1' }],
];

function resolve(request: Partial<ResolveRequest> & { indexes: ApkIndex[] }) {
  return resolvePackages({ world: [], ...request });
}

function names(request: Partial<ResolveRequest> & { indexes: ApkIndex[] }): string[] {
  return resolve(request).packages.map((pkg) => `${pkg.name}-${pkg.version}`);
}

function failure(request: Partial<ResolveRequest> & { indexes: ApkIndex[] }): AppError {
  try {
    resolve(request);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the resolution to fail');
}

describe('resolvePackages', () => {
  it('adds alpine-base and follows so: and cmd: provides', () => {
    const main = index('main', [
      ...base,
      ['app-2.0-r0', { D: 'so:libfoo.so.1 cmd:convert' }],
      ['libfoo-1.4-r0', { D: 'so:libc.musl-x86_64.so.1', p: 'so:libfoo.so.1=1.4' }],
      ['imagemagick-7.1-r0', { p: 'cmd:convert=7.1-r0 cmd:magick=7.1-r0' }],
      ['graphicsmagick-1.3-r0', { p: 'cmd:gm=1.3-r0' }],
    ]);
    expect(names({ indexes: [main], world: ['app'] })).toEqual([
      'alpine-base-3.22.0-r0',
      'app-2.0-r0',
      'busybox-1.37.0-r19',
      'imagemagick-7.1-r0',
      'libfoo-1.4-r0',
      'musl-1.2.5-r9',
    ]);
  });

  it('reports every field of a package and where it came from', () => {
    const main = index('main', base);
    const community = index('community', [['cage-0.2.0-r0', { D: 'musl' }]]);
    const result = resolve({ indexes: [main, community], world: ['cage'] });
    const cage = result.packages.find((pkg) => pkg.name === 'cage');
    expect(cage).toMatchObject({
      name: 'cage',
      version: '0.2.0-r0',
      arch: 'x86_64',
      size: 1300,
      installedSize: 13000,
      checksum: `Q1${createHash('sha1').update('cage-0.2.0-r0').digest('base64')}`,
      repository: 'community',
      chain: ['world', 'cage-0.2.0-r0'],
      reason: 'required',
    });
    expect(Buffer.from(cage?.checksumBytes ?? []).equals(createHash('sha1').update('cage-0.2.0-r0').digest())).toBe(
      true,
    );
    expect(result.packages.find((pkg) => pkg.name === 'musl')?.chain).toEqual([
      'world',
      'cage-0.2.0-r0',
      'musl-1.2.5-r9',
    ]);
    expect(result.packages.find((pkg) => pkg.name === 'busybox')?.repository).toBe('main');
    expect(result.size).toBe(result.packages.reduce((sum, pkg) => sum + pkg.size, 0));
    expect(result.installedSize).toBe(result.packages.reduce((sum, pkg) => sum + pkg.installedSize, 0));
  });

  it('takes the same package from the first index that has it', () => {
    const main = index('main', [...base, ['tool-1.0-r0']]);
    const mirror = index('mirror', [['tool-1.0-r0'], ['tool-0.9-r0']]);
    const tool = resolve({ indexes: [main, mirror], world: ['tool'] }).packages.find((pkg) => pkg.name === 'tool');
    expect(tool?.repository).toBe('main');
    expect(
      resolve({ indexes: [mirror, main], world: ['tool'] }).packages.find((pkg) => pkg.name === 'tool')?.repository,
    ).toBe('mirror');
  });

  it('chooses a virtual package by provider priority, unless one provider is already there', () => {
    const main = index('main', [
      ...base,
      ['script-1.0-r0', { D: '/bin/sh' }],
      ['busybox-binsh-1.37.0-r19', { D: 'busybox', p: '/bin/sh', k: 100 }],
      ['dash-binsh-0.5.12-r3', { p: '/bin/sh', k: 60 }],
      ['yash-binsh-2.57-r0', { p: '/bin/sh' }],
    ]);
    expect(names({ indexes: [main], world: ['script'] })).toContain('busybox-binsh-1.37.0-r19');
    const chosen = names({ indexes: [main], world: ['script', 'dash-binsh'] });
    expect(chosen).toContain('dash-binsh-0.5.12-r3');
    expect(chosen).not.toContain('busybox-binsh-1.37.0-r19');
    expect(names({ indexes: [main], world: ['yash-binsh', 'script'] })).not.toContain('busybox-binsh-1.37.0-r19');
  });

  it('refuses a virtual name whose providers have no priority, naming them', () => {
    const main = index('main', [...base, ['app-1.0-r0', { D: 'greeter' }], ['gtkgreet-1.0-r0', { p: 'greeter' }]]);
    const error = failure({ indexes: [main], world: ['app'] });
    expect(error.message).toContain('nothing satisfies greeter (required by world → app-1.0-r0)');
    expect(error.message).toContain('virtual name');
    expect(error.message).toContain('gtkgreet-1.0-r0 (as greeter) in main');
  });

  it('prefers the exact name, then k: priority, then the highest version, then the name', () => {
    const main = index('main', [
      ...base,
      ['font-1.0-r0'],
      ['font-awesome-9.0-r0', { p: 'font=9.0' }],
      ['icons-a-1.0-r0', { p: 'icons=1.0', k: 10 }],
      ['icons-b-2.0-r0', { p: 'icons=2.0' }],
      ['icons-c-1.0-r0', { p: 'icons=1.0', k: 20 }],
      ['theme-b-1.0-r0', { p: 'theme=1.0' }],
      ['theme-a-1.0-r0', { p: 'theme=1.0' }],
      ['cursor-a-1.0-r0', { p: 'cursor=1.0' }],
      ['cursor-b-1.0-r0', { p: 'cursor=1.10' }],
    ]);
    const chosen = names({ indexes: [main], world: ['font', 'icons', 'theme', 'cursor'] });
    expect(chosen).toContain('font-1.0-r0');
    expect(chosen).not.toContain('font-awesome-9.0-r0');
    expect(chosen).toContain('icons-c-1.0-r0');
    expect(chosen).toContain('theme-a-1.0-r0');
    expect(chosen).toContain('cursor-b-1.0-r0');
  });

  it('honours version constraints, revisiting an earlier choice when a later one needs it', () => {
    const main = index('main', [
      ...base,
      ['lib-1.0-r0'],
      ['lib-2.0-r0'],
      ['lib-3.0_rc1-r0'],
      ['lib-3.0-r1'],
      ['old-1.0-r0', { D: 'lib<3' }],
      ['new-1.0-r0', { D: 'lib>=2' }],
      ['fuzzy-1.0-r0', { D: 'lib~3.0_rc' }],
    ]);
    expect(names({ indexes: [main], world: ['lib'] })).toContain('lib-3.0-r1');
    expect(names({ indexes: [main], world: ['lib>=2', 'lib<3'] })).toContain('lib-2.0-r0');
    const revisited = names({ indexes: [main], world: ['lib', 'new', 'old'] });
    expect(revisited).toContain('lib-2.0-r0');
    expect(revisited.filter((id) => id.startsWith('lib-'))).toHaveLength(1);
    expect(names({ indexes: [main], world: ['fuzzy'] })).toContain('lib-3.0_rc1-r0');
    const error = failure({ indexes: [main], world: ['lib>4'] });
    expect(error.message).toContain('nothing satisfies lib>4 (required by world): only lib-1.0-r0 in main');
  });

  it('adds install_if packages at a fixed point', () => {
    const main = index('main', [
      ...base,
      ['app-1.0-r0'],
      ['app-lang-1.0-r0', { i: 'app=1.0-r0 lang' }],
      ['lang-1.0-r0'],
      ['app-doc-1.0-r0', { i: 'app=1.0-r0 docs', D: 'man-pages' }],
      ['docs-1.0-r0'],
      ['man-pages-6.9-r0'],
      ['man-pages-lang-6.9-r0', { i: 'man-pages lang' }],
      ['app-bash-completion-1.0-r0', { i: 'app=1.0-r0 bash-completion' }],
      ['app-minimal-1.0-r0', { i: 'app !full' }],
      ['full-1.0-r0'],
    ]);
    const plain = names({ indexes: [main], world: ['app'] });
    expect(plain).not.toContain('app-lang-1.0-r0');
    expect(plain).toContain('app-minimal-1.0-r0');
    const result = resolve({ indexes: [main], world: ['app', 'lang', 'docs', 'full'] });
    const ids = result.packages.map((pkg) => `${pkg.name}-${pkg.version}`);
    expect(ids).toEqual(
      expect.arrayContaining(['app-lang-1.0-r0', 'app-doc-1.0-r0', 'man-pages-6.9-r0', 'man-pages-lang-6.9-r0']),
    );
    expect(ids).not.toContain('app-bash-completion-1.0-r0');
    expect(ids).not.toContain('app-minimal-1.0-r0');
    const lang = result.packages.find((pkg) => pkg.name === 'man-pages-lang');
    expect(lang?.reason).toBe('install-if');
    expect(lang?.chain).toEqual(['world', 'app-1.0-r0', 'app-doc-1.0-r0', 'man-pages-6.9-r0', 'man-pages-lang-6.9-r0']);
  });

  it('names the closest matches and the chain for a missing package', () => {
    const main = index('main', [
      ...base,
      ['chromium-131.0-r0'],
      ['chromium-lang-131.0-r0'],
      ['kiosk-1.0-r0', { D: 'chromiun' }],
    ]);
    const direct = failure({ indexes: [main], world: ['chromiun'] });
    expect(direct.code).toBe('invalid-input');
    expect(direct.message).toBe('no package provides "chromiun" in main (required by world); closest: chromium');
    expect(direct.hint).toContain('did you mean chromium?');
    expect(failure({ indexes: [main], world: ['chrom'] }).message).toContain('closest: chromium, chromium-lang');
    const deep = failure({ indexes: [main], world: ['kiosk'] });
    expect(deep.message).toContain('(required by world → kiosk-1.0-r0)');
    const extra = failure({ indexes: [main], world: [], extra: [{ label: 'services', names: ['chromum'] }] });
    expect(extra.message).toContain('(required by services)');
  });

  it('names both sides of a conflict and the chains that pulled them in', () => {
    const main = index('main', [
      ...base,
      ['a-1.0-r0', { D: 'c' }],
      ['b-1.0-r0', { D: 'helper' }],
      ['helper-1.0-r0', { D: '!c' }],
      ['c-1.0-r0'],
    ]);
    const error = failure({ indexes: [main], world: ['a', 'b'] });
    expect(error.message).toBe(
      'package conflict: c-1.0-r0 (pulled in by world → a-1.0-r0) and !c (required by world → b-1.0-r0 → helper-1.0-r0) cannot both hold',
    );
    const versions = index('main', [
      ...base,
      ['x-1.0-r0', { D: 'lib=1.0-r0' }],
      ['y-1.0-r0', { D: 'lib>=2' }],
      ['lib-1.0-r0'],
      ['lib-2.0-r0'],
    ]);
    const clash = failure({ indexes: [versions], world: ['x', 'y'] });
    expect(clash.message).toContain('lib-1.0-r0 (pulled in by world → x-1.0-r0)');
    expect(clash.message).toContain('lib>=2 (required by world → y-1.0-r0)');
  });

  it('honours conflicts and identity checksums written in the world', () => {
    const main = index('main', [...base, ['editor-1.0-r0', { D: 'spell' }], ['spell-1.0-r0'], ['spell-2.0-r0']]);
    const pinned = `spell><Q1${createHash('sha1').update('spell-1.0-r0').digest('base64')}`;
    expect(names({ indexes: [main], world: ['editor', pinned] })).toContain('spell-1.0-r0');
    expect(names({ indexes: [main], world: ['editor', '!spell>=2'] })).toContain('spell-1.0-r0');
    const error = failure({ indexes: [main], world: ['editor', '!spell'] });
    expect(error.message).toBe(
      'package conflict: spell (required by world → editor-1.0-r0) and !spell (required by world) cannot both hold',
    );
  });

  it('takes the highest version across indexes, the earlier index only breaking ties', () => {
    const main = index('main', [...base, ['tool-1.0-r0']]);
    const community = index('community', [['tool-1.1-r0']]);
    const tool = resolve({ indexes: [main, community], world: ['tool'] }).packages.find((pkg) => pkg.name === 'tool');
    expect(tool).toMatchObject({ version: '1.1-r0', repository: 'community' });
  });

  it('refuses two packages owning one versioned provide', () => {
    const main = index('main', [
      ...base,
      ['openssl-3.3-r0', { p: 'so:libssl.so.3=3.3' }],
      ['libressl-4.0-r0', { p: 'so:libssl.so.3=4.0' }],
    ]);
    const error = failure({ indexes: [main], world: ['openssl', 'libressl'] });
    expect(error.message).toContain('both provide so:libssl.so.3');
  });

  it('skips packages of another arch and rejects repository tags', () => {
    const main = index('main', [
      ...base,
      ['tool-2.0-r0', { A: 'aarch64' }],
      ['tool-1.0-r0'],
      ['data-1.0-r0', { A: 'noarch' }],
    ]);
    expect(names({ indexes: [main], world: ['tool', 'data'], arch: 'x86_64' })).toEqual(
      expect.arrayContaining(['tool-1.0-r0', 'data-1.0-r0']),
    );
    expect(failure({ indexes: [main], world: ['tool@edge'] }).message).toContain(
      'repository tags (@edge) are not supported',
    );
  });

  it('gives the same result whatever the order of the index', () => {
    const packages: [string, Spec?][] = [
      ...base,
      ['app-1.0-r0', { D: 'so:libx.so.1 /bin/sh' }],
      ['libx-1.0-r0', { p: 'so:libx.so.1=1' }],
      ['libx-1.1-r0', { p: 'so:libx.so.1=1' }],
      ['busybox-binsh-1.37.0-r19', { p: '/bin/sh', k: 100 }],
      ['dash-binsh-0.5.12-r3', { p: '/bin/sh', k: 100 }],
      ['app-lang-1.0-r0', { i: 'app lang' }],
      ['lang-1.0-r0'],
    ];
    const expected = names({ indexes: [index('main', packages)], world: ['app', 'lang'] });
    expect(expected).toContain('busybox-binsh-1.37.0-r19');
    fc.assert(
      fc.property(fc.shuffledSubarray(packages, { minLength: packages.length }), (shuffled) => {
        expect(names({ indexes: [index('main', shuffled)], world: ['app', 'lang'] })).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});

describe('resolvePackages on a synthetic community-shaped index', () => {
  it('returns a consistent, closed set for a kiosk world', () => {
    const synthetic = syntheticApkIndex({ origins: 2000, seed: 3 });
    const parsed = parseApkIndex(synthetic.text, { source: 'community' });
    const result = resolvePackages({ indexes: [parsed], world: synthetic.kioskWorld });
    const chosen = result.packages.map((resolved) => {
      const pkg = parsed.packages.find(
        (candidate) => candidate.name === resolved.name && candidate.version === resolved.version,
      );
      if (pkg === undefined) throw new Error(`${resolved.name} is not in the index`);
      return pkg;
    });
    expect(chosen.length).toBeGreaterThan(50);
    const satisfied = (dep: ApkDependency): boolean => chosen.some((pkg) => packageSatisfies(pkg, dep));
    for (const pkg of chosen)
      for (const dep of pkg.depends) expect(satisfied(dep), `${pkg.name} needs ${dep.text}`).toBe(!dep.conflict);
    for (const name of [...synthetic.kioskWorld, 'alpine-base'])
      expect(satisfied(parseDependency(name)), name).toBe(true);
    // Closed under install_if: every package whose conditions all hold is there.
    for (const pkg of parsed.packages) {
      if (pkg.installIf.length === 0) continue;
      const holds = pkg.installIf.every((condition) => satisfied(condition) !== condition.conflict);
      if (holds)
        expect(
          chosen.some((other) => other.name === pkg.name),
          pkg.name,
        ).toBe(true);
    }
    expect(result.packages.map((pkg) => pkg.name)).toEqual([...result.packages.map((pkg) => pkg.name)].sort());
  });
});
