import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { parseApkIndex, parseChecksum, parseDependency } from '../../../main/services/apk/index-parse.js';
import { EQUAL, FUZZY, GREATER, LESS } from '../../../main/services/apk/version.js';

const sha1 = createHash('sha1').update('busybox control').digest();
const q1 = `Q1${sha1.toString('base64')}`;

// Shaped like a record of Alpine's main/x86_64 APKINDEX.
const index = `C:${q1}
P:busybox
V:1.37.0-r19
A:x86_64
S:519234
I:958464
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1739371127
c:3ec3a1e3dd1c6ab2b5e8f2b5c5f5e0ad1c7b1b5a
D:so:libc.musl-x86_64.so.1 !busybox-extras>2 bar>=1.2 baz~3.1 qux<~2 quux><Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=
p:cmd:busybox=1.37.0-r19 cmd:sh /bin/sh so:libbusybox.so.1=1.37.0
i:busybox-core=1.37.0-r19 docs
k:100
r:busybox-old
q:5

C:Q1${createHash('sha1').update('musl').digest('base64')}
P:musl
V:1.2.5-r9
A:x86_64
S:411914
I:657408
p:so:libc.musl-x86_64.so.1=1
`;

function parseError(text: string): AppError {
  try {
    parseApkIndex(text, { source: 'main/x86_64' });
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a parse error');
}

describe('parseApkIndex', () => {
  it('reads every field of a record', () => {
    const parsed = parseApkIndex(index, { source: 'main' });
    expect(parsed.source).toBe('main');
    expect(parsed.packages).toHaveLength(2);
    const busybox = parsed.packages[0];
    expect(busybox).toMatchObject({
      name: 'busybox',
      version: '1.37.0-r19',
      arch: 'x86_64',
      size: 519234,
      installedSize: 958464,
      description: 'Size optimized toolbox of many common UNIX utilities',
      url: 'https://busybox.net/',
      license: 'GPL-2.0-only',
      origin: 'busybox',
      maintainer: 'Sören Tempel <soeren+alpine@soeren-tempel.net>',
      buildTime: 1739371127,
      commit: '3ec3a1e3dd1c6ab2b5e8f2b5c5f5e0ad1c7b1b5a',
      providerPriority: 100,
      line: 1,
    });
    expect(busybox?.checksum.algorithm).toBe('sha1');
    expect(Buffer.from(busybox?.checksum.bytes ?? []).equals(sha1)).toBe(true);
    expect(busybox?.checksum.text).toBe(q1);
    expect(busybox?.depends).toEqual([
      { name: 'so:libc.musl-x86_64.so.1', conflict: false, text: 'so:libc.musl-x86_64.so.1' },
      { name: 'busybox-extras', conflict: true, mask: GREATER, version: '2', text: '!busybox-extras>2' },
      { name: 'bar', conflict: false, mask: GREATER | EQUAL, version: '1.2', text: 'bar>=1.2' },
      { name: 'baz', conflict: false, mask: EQUAL | FUZZY, version: '3.1', text: 'baz~3.1' },
      { name: 'qux', conflict: false, mask: LESS | EQUAL | FUZZY, version: '2', text: 'qux<~2' },
      {
        name: 'quux',
        conflict: false,
        checksum: 'Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        text: 'quux><Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
    ]);
    expect(busybox?.provides).toEqual([
      { name: 'cmd:busybox', version: '1.37.0-r19', text: 'cmd:busybox=1.37.0-r19' },
      { name: 'cmd:sh', text: 'cmd:sh' },
      { name: '/bin/sh', text: '/bin/sh' },
      { name: 'so:libbusybox.so.1', version: '1.37.0', text: 'so:libbusybox.so.1=1.37.0' },
    ]);
    expect(busybox?.installIf.map((dep) => [dep.name, dep.mask, dep.version])).toEqual([
      ['busybox-core', EQUAL, '1.37.0-r19'],
      ['docs', undefined, undefined],
    ]);
    const musl = parsed.packages[1];
    expect(musl).toMatchObject({ name: 'musl', line: 21, depends: [], installIf: [], providerPriority: undefined });
  });

  it('accepts CRLF line ends and several blank lines between records', () => {
    const parsed = parseApkIndex(index.replace('\n\n', '\n\n\n\n').replaceAll('\n', '\r\n'));
    expect(parsed.packages.map((pkg) => pkg.name)).toEqual(['busybox', 'musl']);
  });

  it.each([
    ['a line without a field', 'P:a\nnonsense\n', 2, 'is not a field'],
    ['a missing V:', `P:a\nC:${q1}\n`, 1, 'no V: field'],
    ['a missing C:', 'P:a\nV:1.0\n', 1, 'no C: field'],
    ['an invalid version', `P:a\nV:1.0-beta\nC:${q1}\n`, 2, 'field V: "1.0-beta" is not a valid apk version'],
    ['a bad size', `P:a\nV:1\nS:12k\nC:${q1}\n`, 3, 'field S: the size "12k" is not a whole number'],
    ['a bad checksum prefix', `P:a\nV:1\nC:${'ab'.repeat(16)}\n`, 3, 'field C:'],
    ['a short checksum', `P:a\nV:1\nC:Q1AAAA\n`, 3, '20-byte SHA-1'],
    ['an unknown operator', `P:a\nV:1\nC:${q1}\nD:foo=>=1\n`, 4, 'unknown operator "=>="'],
    ['a dependency without version', `P:a\nV:1\nC:${q1}\nD:foo>=\n`, 4, 'no version after it'],
    ['a provide with a bad version', `P:a\nV:1\nC:${q1}\np:so:x=abc\n`, 4, 'field p:'],
    ['a repeated field', `P:a\nV:1\nV:2\nC:${q1}\n`, 3, 'field V: appears twice'],
    ['a bad package name', `P:-a\nV:1\nC:${q1}\n`, 1, 'is not a package name'],
    ['a bad priority', `P:a\nV:1\nC:${q1}\nk:high\n`, 4, 'field k:'],
  ])('rejects %s with the line number', (_, text, line, message) => {
    const error = parseError(`\n${text}`);
    expect(error.code).toBe('invalid-input');
    expect(error.location).toBe(`main/x86_64:${line + 1}`);
    expect(error.message).toContain(`main/x86_64 line ${line + 1}: `);
    expect(error.message).toContain(message);
  });

  it('parses a checksum of either kind', () => {
    const sha256 = createHash('sha256').update('x').digest();
    expect(parseChecksum(`Q2${sha256.toString('base64')}`).algorithm).toBe('sha256');
    expect(() => parseChecksum(`Q2${sha1.toString('base64')}`)).toThrow(/32-byte SHA-256/);
  });

  it('parses dependencies on their own', () => {
    expect(parseDependency('!foo')).toEqual({ name: 'foo', conflict: true, text: '!foo' });
    expect(parseDependency('pc:zlib>=1.2.3')).toMatchObject({
      name: 'pc:zlib',
      mask: GREATER | EQUAL,
      version: '1.2.3',
    });
    expect(() => parseDependency('>=1')).toThrow(/no package name/);
  });

  // Speed is measured by npm run bench (test/bench/apk-resolve.ts), never by a timed test.
  it('parses an index the size of the community repository (25,000 records) completely', () => {
    const record = (n: number): string =>
      `C:${q1}\nP:pkg${n}\nV:1.${n % 97}.${n % 13}-r${n % 5}\nA:x86_64\nS:${1000 + n}\nI:${4000 + n}\nT:package ${n}\n` +
      `U:https://example.org/${n}\nL:MIT\no:pkg${n}\nm:Someone <someone@example.org>\nt:1700000000\nc:abcdef\n` +
      `D:so:libc.musl-x86_64.so.1 pkg${n >> 1}>=1.0 so:lib${n >> 2}.so.1\n` +
      `p:so:lib${n}.so.1=1.0 cmd:tool${n}=1.${n % 97}.${n % 13}-r${n % 5}\n\n`;
    const text = Array.from({ length: 25_000 }, (_, n) => record(n)).join('');
    const parsed = parseApkIndex(text);
    expect(parsed.packages).toHaveLength(25_000);
    const last = parsed.packages[24_999];
    expect(last?.name).toBe('pkg24999');
    expect(last?.provides.map((provide) => provide.name)).toEqual(['so:lib24999.so.1', 'cmd:tool24999']);
    expect(last?.depends.map((dependency) => dependency.name)).toEqual([
      'so:libc.musl-x86_64.so.1',
      'pkg12499',
      'so:lib6249.so.1',
    ]);
  });
});
