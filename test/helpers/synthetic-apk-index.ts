/**
 * A synthetic APKINDEX text shaped like Alpine's community repository: about 25,000 packages
 * from about 6,100 origins, with shared libraries (so: provides and so: dependencies forming a
 * layered graph), commands (cmd:), pkg-config names (pc:) on -dev packages, subpackages that
 * come by install_if (-doc, -lang, -openrc, -bash-completion), virtual names with k:
 * priorities, and `!` conflicts. Deterministic for a given seed. Used by the resolver tests and
 * npm run bench.
 */
import { createHash } from 'node:crypto';

export interface SyntheticIndexOptions {
  /** Number of origins (source packages); each makes about five packages. Default 6100. */
  origins?: number;
  seed?: number;
}

export interface SyntheticIndex {
  text: string;
  packageCount: number;
  /** A kiosk-like world of 20 names (a browser, a compositor, fonts, tools...). */
  kioskWorld: string[];
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticApkIndex(options: SyntheticIndexOptions = {}): SyntheticIndex {
  const origins = options.origins ?? 6100;
  const next = random(options.seed ?? 9);
  const pick = (below: number): number => Math.floor(next() * below);
  const records: string[] = [];
  const checksum = (id: string): string => `Q1${createHash('sha1').update(id).digest('base64')}`;
  const add = (name: string, version: string, fields: Record<string, string>): void => {
    const lines = [
      `C:${checksum(`${name}-${version}`)}`,
      `P:${name}`,
      `V:${version}`,
      'A:x86_64',
      `S:${20_000 + pick(2_000_000)}`,
      `I:${60_000 + pick(8_000_000)}`,
      `T:synthetic ${name}`,
      `U:https://example.org/${name}`,
      'L:MIT',
      `o:${fields.origin ?? name}`,
      'm:Synthetic Maintainer <synthetic@example.org>',
      `t:${1_700_000_000 + pick(30_000_000)}`,
      'c:0123456789abcdef0123456789abcdef01234567',
    ];
    for (const key of ['D', 'p', 'i', 'k']) if (fields[key] !== undefined) lines.push(`${key}:${fields[key]}`);
    records.push(`${lines.join('\n')}\n`);
  };

  add('musl', '1.2.5-r9', { p: 'so:libc.musl-x86_64.so.1=1' });
  add('busybox', '1.37.0-r19', { D: 'so:libc.musl-x86_64.so.1', p: 'cmd:busybox=1.37.0-r19 cmd:sh=1.37.0-r19' });
  add('busybox-binsh', '1.37.0-r19', { D: 'busybox', p: '/bin/sh', k: '100' });
  add('dash-binsh', '0.5.12-r3', { p: '/bin/sh', k: '60' });
  add('alpine-base', '3.22.0-r0', { D: 'busybox /bin/sh musl' });
  for (const meta of ['docs', 'lang', 'openrc', 'bash-completion']) add(meta, '1.0-r0', {});

  // Origins: the first fifth are libraries, layered so that each links a few earlier ones.
  const libraries = Math.floor(origins / 5);
  const version = (n: number): string => `${1 + (n % 7)}.${n % 23}.${n % 5}-r${n % 3}`;
  const soName = (n: number): string => `so:libsyn${n}.so.${1 + (n % 3)}`;
  const libraryDeps = (n: number, count: number): string[] => {
    const deps = new Set<string>(['so:libc.musl-x86_64.so.1']);
    for (let k = 0; k < count && n > 0; k += 1) {
      // Mostly near neighbours, sometimes a foundation library: a realistic fan-in.
      const target = next() < 0.6 ? pick(Math.min(n, 40)) : Math.max(0, n - 1 - pick(Math.min(n, 400)));
      deps.add(soName(target));
    }
    return [...deps];
  };
  for (let n = 0; n < origins; n += 1) {
    const isLibrary = n < libraries;
    const name = isLibrary ? `libsyn${n}` : `app${n}`;
    const ver = version(n);
    const deps = isLibrary ? libraryDeps(n, 1 + pick(2)) : libraryDeps(libraries, 2 + pick(5));
    if (!isLibrary && next() < 0.2) deps.push(`cmd:tool${libraries + pick(n - libraries + 1)}`);
    if (!isLibrary && next() < 0.05) deps.push('/bin/sh');
    if (next() < 0.01) deps.push(`!app${origins + n}`); // conflicts with names nobody has
    const provides = isLibrary
      ? [`${soName(n)}=${ver.split('-')[0] ?? ver}`]
      : [`cmd:tool${n}=${ver}`, `cmd:${name}=${ver}`];
    const fields: Record<string, string> = { D: deps.join(' '), p: provides.join(' ') };
    if (!isLibrary && n % 97 === 0) {
      fields.p = `${fields.p} font-provider`;
      fields.k = String(n % 200);
    }
    add(name, ver, fields);
    add(`${name}-doc`, ver, { origin: name, i: `${name}=${ver} docs` });
    add(`${name}-dev`, ver, {
      origin: name,
      D: `${name}=${ver} pkgconf${n > 0 ? ` pc:syn${pick(n)}` : ''}`,
      p: `pc:syn${n}=${ver.split('-')[0] ?? ver}`,
    });
    if (n % 2 === 0) add(`${name}-lang`, ver, { origin: name, i: `${name}=${ver} lang` });
    if (n % 3 === 0) add(`${name}-openrc`, ver, { origin: name, i: `openrc ${name}=${ver}` });
    if (n % 4 === 0) add(`${name}-bash-completion`, ver, { origin: name, i: `${name}=${ver} bash-completion` });
  }
  add('pkgconf', '2.3.0-r0', { D: 'so:libc.musl-x86_64.so.1', p: 'cmd:pkgconf=2.3.0-r0' });

  const apps = Array.from(
    { length: 18 },
    (_, k) => `app${libraries + Math.floor(((k + 1) * (origins - libraries)) / 20)}`,
  );
  return {
    text: records.join('\n'),
    packageCount: records.length,
    kioskWorld: [...apps, 'openrc', 'font-provider'],
  };
}
