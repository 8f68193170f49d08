import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { displayText } from '../../shared/rules/display.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { responseValue, runCli } from '../helpers/cli.js';
import { tarFile, tarHeader } from '../helpers/raw-tar.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * A user's apkovl with members that are unsafe to unpack (outside the overlay's root, device
 * nodes, links to files it does not hold) is refused by build, naming the member; findings that
 * only break part of the boot stay warnings. Names from such an apkovl never reach the terminal
 * raw, in build or in inspect.
 */

const MiB = 1 << 20;
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let counter = 0;

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.01 });
});
afterAll(() => temp.cleanup());

const base = [tarHeader('etc/', 0, { type: '5', mode: 0o755 }), tarFile('etc/hostname', 'hall\n')];

function apkovl(...members: Buffer[]): string {
  counter += 1;
  const file = path.join(temp.dir, `overlay-${counter}.apkovl.tar.gz`);
  writeFileSync(file, zlib.gzipSync(Buffer.concat([...members, Buffer.alloc(1024)])));
  return file;
}

function output(): string {
  counter += 1;
  return path.join(temp.dir, `card-${counter}.img`);
}

async function refused(overlay: string): Promise<AppError> {
  const image = output();
  const error: unknown = await buildImage({
    bootMedia: media.tarball,
    overlay,
    output: image,
    partitionBytes: 64 * MiB,
  }).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  expect(existsSync(image)).toBe(false);
  return error as AppError;
}

describe('build --overlay refuses unsafe members', () => {
  const cases: [what: string, member: Buffer, name: string, pattern: RegExp][] = [
    ['a path out of the overlay', tarFile('etc/../../evil', 'x'), 'etc/../../evil', /contains \.\./],
    ['an absolute path', tarFile('/etc/shadow', 'root::0:0:::::\n'), '/etc/shadow', /absolute/],
    ['a device node', tarHeader('etc/mem', 0, { type: '3' }), 'etc/mem', /a character device/],
    [
      'a hard link out of the overlay',
      tarHeader('etc/passwd-', 0, { type: '1', linkname: '/etc/shadow' }),
      'etc/passwd-',
      /hard link to \/etc\/shadow/,
    ],
  ];
  for (const [what, member, name, pattern] of cases) {
    it(`${what}, naming the member`, async () => {
      const overlay = apkovl(...base, member);
      const error = await refused(overlay);
      expect(error.code).toBe('invalid-input');
      expect(error.message).toContain(`the overlay's member "${name}" is refused`);
      expect(error.message).toMatch(pattern);
      expect(error.location).toBe(`${overlay}, member "${name}"`);
      expect(error.hint).toContain(`apkovl inspect ${overlay} lists every problem`);
    });
  }

  it('a member written through a symbolic link the overlay makes', async () => {
    const error = await refused(
      apkovl(...base, tarHeader('etc/up', 0, { type: '2', linkname: '/' }), tarFile('etc/up/etc/shadow', 'x')),
    );
    expect(error.message).toMatch(
      /"etc\/up\/etc\/shadow" is refused: it is unpacked through the symbolic link etc\/up/,
    );
  });

  it('says how many more there are', async () => {
    const error = await refused(apkovl(...base, tarFile('/a', 'x'), tarFile('/b', 'x'), tarFile('../c', 'x')));
    expect(error.message).toMatch(/\(and 2 more such problems\)$/);
  });

  it('but builds with a warning for what only breaks part of the boot (a ./ prefix, no sysinit services)', async () => {
    const overlay = apkovl(tarHeader('./etc/', 0, { type: '5', mode: 0o755 }), tarFile('./etc/hostname', 'hall\n'));
    const summary = await buildImage({ bootMedia: media.tarball, overlay, output: output(), partitionBytes: 64 * MiB });
    expect(summary.warnings.some((warning) => warning.startsWith('apkovl check member-names: ./etc/hostname'))).toBe(
      true,
    );
    expect(summary.warnings.some((warning) => warning.startsWith('apkovl check boot-services'))).toBe(true);
  });

  it('escapes a host name with control characters in its error', async () => {
    const error = await refused(
      apkovl(tarHeader('etc/', 0, { type: '5' }), tarFile('etc/hostname', 'hall\x1b]0;x\x07\u202e\n')),
    );
    expect(error.message).toContain('"hall\\x1b]0;x\\x07\\u202e"');
    expect(displayText(error.message)).toBe(error.message);
  });
});

describe('untrusted names on the terminal', () => {
  const hostile = '\x1b]0;pwned\x07\x1b[2J\nBuilt card.img';

  function expectSafe(text: string): void {
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\x07');
    expect(text.split('\n').filter((line) => line.startsWith('Built'))).toEqual([]);
  }

  it('apkovl inspect escapes member names, link targets and owners, and marks what build refuses', () => {
    const overlay = apkovl(
      ...base,
      tarFile(`etc/a${hostile}`, 'x'),
      tarHeader('etc/link', 0, { type: '2', linkname: `/x${hostile}`, uname: 'r\x1b[31m', gname: 'g\u202e' }),
      tarHeader(`etc/dev${hostile}`, 0, { type: '4' }),
    );
    const result = runCli(['inspect', overlay]);
    expect(result.status).toBe(1);
    expectSafe(result.stdout);
    expectSafe(result.stderr);
    expect(result.stdout).toContain('etc/a\\x1b]0;pwned\\x07\\x1b[2J\\nBuilt card.img\n');
    expect(result.stdout).toContain('r\\x1b[31m/g\\u202e');
    expect(result.stdout).toContain('-> /x\\x1b]0;pwned');
    expect(result.stdout).toMatch(/error \(unsafe: build refuses it\): \[member-types\] etc\/dev\\x1b\]0;pwned/);

    // JSON stays the data as stored: JSON escapes the control characters itself.
    const json = runCli(['inspect', '--json', overlay]);
    expectSafe(json.stdout);
    const parsed = responseValue<{ members: { name: string }[]; findings: { unsafe: boolean }[] }>(json.stdout);
    expect(parsed.members.map((member) => member.name)).toContain(`etc/a${hostile}`);
    expect(parsed.findings.some((found) => found.unsafe)).toBe(true);
  });

  it('build escapes them in its refusal', () => {
    const overlay = apkovl(...base, tarHeader(`etc/dev${hostile}`, 0, { type: '4' }));
    const result = runCli(['build', '--boot-media', media.tarball, '--overlay', overlay, '--output', output()]);
    expect(result.status).toBe(1);
    expectSafe(result.stderr);
    expect(result.stderr).toContain('etc/dev\\x1b]0;pwned\\x07\\x1b[2J\\nBuilt card.img');
  });
});
