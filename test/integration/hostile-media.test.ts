import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { displayText } from '../../shared/rules/display.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { responseEnvelope, runCli } from '../helpers/cli.js';
import { mtoolsRead } from '../helpers/external-tools.js';
import { createOverlay, textBytes } from '../helpers/synthetic-media.js';
import { alpineMembers, writeTarGz, type TarMember } from '../helpers/tar-builder.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Boot media that are damaged or made to attack: sparse members, data after the gzip data,
 * hard links to nothing, and member names that try to talk to the terminal.
 */

const MiB = 1024 * 1024;
let temp: ReturnType<typeof makeTempDir>;
let overlay: string;
let counter = 0;

beforeAll(() => {
  temp = makeTempDir();
  overlay = createOverlay(temp.dir, 'hall');
});
afterAll(() => temp.cleanup());

function output(): string {
  counter += 1;
  return path.join(temp.dir, `out-${counter}.img`);
}

async function build(bootMedia: string): Promise<string> {
  const image = output();
  await buildImage({ bootMedia, overlay, output: image, partitionBytes: 64 * MiB });
  return image;
}

/** Build, expect a clear error, and check that nothing that looks like a card was left. */
async function refused(bootMedia: string): Promise<AppError> {
  const image = output();
  const error: unknown = await buildImage({ bootMedia, overlay, output: image, partitionBytes: 64 * MiB }).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  expect(existsSync(image)).toBe(false);
  expect(readdirSync(temp.dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  return error as AppError;
}

async function tarball(members: TarMember[]): Promise<string> {
  counter += 1;
  const file = path.join(temp.dir, `media-${counter}.tar.gz`);
  await writeTarGz(file, members);
  return file;
}

function withTail(file: string, tail: Buffer): string {
  counter += 1;
  const changed = path.join(temp.dir, `tail-${counter}.tar.gz`);
  writeFileSync(changed, Buffer.concat([readFileSync(file), tail]));
  return changed;
}

describe('sparse members, as GNU tar --sparse writes them', () => {
  let tree: string;
  beforeAll(() => {
    tree = path.join(temp.dir, 'sparse-tree');
    mkdirSync(path.join(tree, 'boot'), { recursive: true });
    writeFileSync(path.join(tree, '.alpine-release'), 'alpine-rpi-3.22.2 251009\n');
    writeFileSync(path.join(tree, 'cmdline.txt'), 'modules=loop,squashfs quiet\n');
    writeFileSync(path.join(tree, 'boot', 'vmlinuz-rpi'), Buffer.alloc(50_000, 7));
    // 10 MiB of holes with a few islands of data: truncate, then write in place.
    const file = path.join(tree, 'boot', 'disk.img');
    writeFileSync(file, '');
    truncateSync(file, 10 * MiB);
    const handle = openSync(file, 'r+');
    for (let island = 0; island < 6; island += 1)
      writeSync(handle, Buffer.alloc(4096, 0x41 + island), 0, 4096, island * MiB);
    closeSync(handle);
  });

  function packed(...options: string[]): string {
    counter += 1;
    const file = path.join(temp.dir, `sparse-${counter}.tar.gz`);
    execFileSync('tar', ['-C', tree, '--sparse', ...options, '-czf', file, '.']);
    return file;
  }

  for (const version of ['0.0', '0.1', '1.0']) {
    it(`refuses a pax sparse member (format ${version}), naming it and saying how to repack`, async () => {
      const error = await refused(packed('--format=posix', `--sparse-version=${version}`));
      expect(error.code).toBe('invalid-media');
      expect(error.message).toMatch(/is refused: it is a sparse file \(made by tar --sparse/);
      // 0.1 and 1.0 store the member as GNUSparseFile.<pid>/disk.img: the real name is said too.
      expect(error.message).toContain(version === '0.0' ? '"./boot/disk.img"' : 'standing for "./boot/disk.img"');
      expect(error.location).toMatch(/sparse-\d+\.tar\.gz, member ".*disk\.img" \(byte \d+ of the unpacked tar\)/);
      expect(error.hint).toMatch(/tar without --sparse/);
    });
  }

  it('refuses a GNU sparse member (type S) the same way', async () => {
    const error = await refused(packed('--format=gnu'));
    expect(error.message).toMatch(/"\.\/boot\/disk\.img" is refused: it is a sparse file/);
    expect(error.hint).toMatch(/tar without --sparse/);
  });

  it('builds the same tree packed without --sparse (the holes stored as zeros)', async () => {
    counter += 1;
    const file = path.join(temp.dir, `plain-${counter}.tar.gz`);
    execFileSync('tar', ['-C', tree, '--format=posix', '-czf', file, '.']);
    const image = await build(file);
    expect(mtoolsRead(image, 'boot/disk.img').equals(readFileSync(path.join(tree, 'boot', 'disk.img')))).toBe(true);
  });
});

describe('data after the gzip data', () => {
  let good: string;
  let gzipBytes: number;
  beforeAll(async () => {
    good = await tarball(alpineMembers());
    gzipBytes = readFileSync(good).length;
  });

  it('refuses appended junk, at the byte where it starts, with a hint', async () => {
    const error = await refused(withTail(good, Buffer.from('<html>404 Not Found</html>\n')));
    expect(error.code).toBe('invalid-media');
    expect(error.message).toMatch(/goes on after the end of its gzip data: 27 bytes from byte \d+ are neither gzip/);
    expect(error.location).toContain(`byte ${gzipBytes} of the file`);
    expect(error.hint).toContain(`head -c ${gzipBytes}`);
    expect(error.hint).toMatch(/download the boot media again/);
  });

  it('accepts zeros after the gzip data (padding), as gzip -d does', async () => {
    await expect(build(withTail(good, Buffer.alloc(10_000)))).resolves.toMatch(/\.img$/);
  });

  it('refuses zeros followed by other data, which gunzip alone would ignore', async () => {
    const error = await refused(withTail(good, Buffer.concat([Buffer.alloc(4096), Buffer.from('junk')])));
    expect(error.location).toContain(`byte ${gzipBytes} of the file`);
    expect(error.message).toContain(`4096 zero bytes, then other data from byte ${gzipBytes + 4096}`);
  });

  it('refuses what only looks like a second gzip member', async () => {
    const error = await refused(withTail(good, Buffer.from([0x1f, 0x8b, 0x08, 0xff, 1, 2, 3])));
    expect(error.location).toContain(`byte ${gzipBytes} of the file`);
  });

  it('reads a real second gzip member, as gzip -d does (tar ignores what follows the end of the archive)', async () => {
    await expect(build(withTail(good, zlib.gzipSync(Buffer.alloc(2048))))).resolves.toMatch(/\.img$/);
  });

  it('locates damage inside the compressed data in the file, not in the unpacked tar', async () => {
    // A gzip file whose deflate data has a block boundary on a byte at a known offset (a full
    // flush): a byte 0xff there starts a block of the reserved type 3, which inflaters refuse.
    const tar = zlib.gunzipSync(
      readFileSync(
        await tarball([...alpineMembers(), { name: './boot/System.map-rpi', content: textBytes('map', 2 * MiB) }]),
      ),
    );
    const half = Math.floor(tar.length / 2);
    const first = zlib.deflateRawSync(tar.subarray(0, half), { finishFlush: zlib.constants.Z_FULL_FLUSH });
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(zlib.crc32(tar), 0);
    trailer.writeUInt32LE(tar.length, 4);
    const data = Buffer.concat([header, first, zlib.deflateRawSync(tar.subarray(half)), trailer]);
    // Undamaged, it is good gzip.
    expect(zlib.gunzipSync(data).equals(tar)).toBe(true);
    const damageAt = header.length + first.length;
    data[damageAt] = 0xff;
    counter += 1;
    const damaged = path.join(temp.dir, `damaged-${counter}.tar.gz`);
    writeFileSync(damaged, data);
    const error = await refused(damaged);
    expect(error.message).toBe('the gzip data is damaged (invalid block type)');
    const near = Number(/about byte (\d+) of the file/.exec(error.location ?? '')?.[1]);
    // Found by inflating again in pieces of 4 KiB: the offset is that of the piece with the damage.
    expect(near).toBeGreaterThan(damageAt - 4096);
    expect(near).toBeLessThanOrEqual(damageAt);
    expect(error.hint).toMatch(/download the boot media again/);
  });
});

describe('hard links', () => {
  it('refuses a hard link to a member that never appeared, naming the tarball and the member', async () => {
    const media = await tarball([
      ...alpineMembers(),
      { name: './boot/kernel.img', type: 'link', linkname: './boot/vmlinuz-gone' },
    ]);
    const error = await refused(media);
    expect(error.code).toBe('invalid-media');
    expect(error.message).toMatch(/"\.\/boot\/kernel\.img" is refused: it is a hard link to "\.\/boot\/vmlinuz-gone"/);
    expect(error.location).toContain(media);
    expect(error.location).toContain('member "./boot/kernel.img"');
    expect(error.hint).toMatch(/download the boot media again, or repack/);
  });

  it('refuses a hard link stored before the file it links to (tar stores the file first)', async () => {
    const members = alpineMembers();
    const error = await refused(
      await tarball([
        ...members.slice(0, 3),
        { name: './boot/kernel.img', type: 'link', linkname: './boot/vmlinuz-rpi' },
        ...members.slice(3),
      ]),
    );
    expect(error.message).toMatch(/not a file before it in the archive/);
  });
});

describe('member names that talk to the terminal', () => {
  const hostile = '\x1b]0;pwned\x07\x1b[2J\nBuilt card.img (256 MiB image, 0.10 s)';

  /** No escape sequence reached the terminal, and no line of output was forged. */
  function expectSafe(text: string): void {
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\x07');
    expect(text.split('\n').filter((line) => line.startsWith('Built'))).toEqual([]);
  }

  it('escapes a refused member name (a device node) in the CLI message', async () => {
    const media = await tarball([...alpineMembers(), { name: `./boot/${hostile}`, type: 'character-device' }]);
    const result = runCli([
      'build',
      '--boot-media',
      media,
      '--overlay',
      overlay,
      '--output',
      output(),
      '--size',
      '64MiB',
    ]);
    expect(result.status).toBe(1);
    expectSafe(result.stderr);
    expectSafe(result.stdout);
    expect(result.stderr).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\nBuilt card.img');
    expect(result.stderr).toMatch(/character device/);
  });

  it('escapes a name FAT cannot store, in the CLI and in its JSON error', async () => {
    const media = await tarball([...alpineMembers(), { name: `./boot/a:b${hostile}`, content: 'x' }]);
    const result = runCli([
      'build',
      '--boot-media',
      media,
      '--overlay',
      overlay,
      '--output',
      output(),
      '--size',
      '64MiB',
    ]);
    expect(result.status).toBe(1);
    expectSafe(result.stderr);
    expect(result.stderr).toMatch(/FAT cannot store the name "a:b\\x1b\]0;pwned/);

    const json = runCli(['build', '--json', '--boot-media', media, '--overlay', overlay, '--output', output()]);
    expectSafe(json.stdout);
    const error = responseEnvelope(json.stdout).error as { message: string; location: string };
    // The message is for people: the name in it is escaped like on the terminal.
    expect(error.message).toContain('a:b\\x1b]0;pwned\\x07');
    expect(displayText(error.location)).toBe(error.location);
  });

  it('escapes the name of a dropped default apkovl in the build summary', async () => {
    const dropped = `x${hostile}.apkovl.tar.gz`;
    const media = await tarball([...alpineMembers(), { name: `./${dropped}`, content: 'old overlay' }]);
    const result = runCli([
      'build',
      '--boot-media',
      media,
      '--overlay',
      overlay,
      '--output',
      output(),
      '--size',
      '64MiB',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expectSafe(result.stdout.split('\n').slice(1).join('\n'));
    expect(result.stdout).toContain('removed      x\\x1b]0;pwned');
  });

  it('escapes what .alpine-release says in the build summary', async () => {
    const media = await tarball([
      ...alpineMembers().filter((member) => member.name !== './.alpine-release'),
      { name: './.alpine-release', content: `alpine-rpi-3.22.2 251009${hostile}\n` },
    ]);
    const result = runCli([
      'build',
      '--boot-media',
      media,
      '--overlay',
      overlay,
      '--output',
      output(),
      '--size',
      '64MiB',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expectSafe(result.stdout.split('\n').slice(1).join('\n'));
    expect(result.stdout).toContain('Alpine       alpine-rpi-3.22.2 251009\\x1b]0;pwned');
  });

  function isoWith(names: Record<string, string>): string {
    counter += 1;
    const tree = path.join(temp.dir, `iso-tree-${counter}`);
    mkdirSync(path.join(tree, 'boot', 'grub'), { recursive: true });
    mkdirSync(path.join(tree, 'efi', 'boot'), { recursive: true });
    mkdirSync(path.join(tree, 'apks', 'x86_64'), { recursive: true });
    writeFileSync(path.join(tree, '.alpine-release'), 'alpine-standard-3.22.2 251009\n');
    writeFileSync(path.join(tree, 'boot', 'grub', 'grub.cfg'), 'menuentry "lts" {\nlinux /boot/vmlinuz-lts quiet\n}\n');
    writeFileSync(path.join(tree, 'boot', 'vmlinuz-lts'), 'kernel');
    writeFileSync(path.join(tree, 'efi', 'boot', 'bootx64.efi'), 'loader');
    for (const name of Object.keys(names)) writeFileSync(path.join(tree, 'apks', 'x86_64', name), 'package');
    const iso = path.join(temp.dir, `alpine-standard-3.22.2-x86_64-${counter}.iso`);
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-output', iso, '-rational-rock', '-volid', 'ALPINE', tree], {
      stdio: 'pipe',
    });
    // Names no file system lets a tool write: patch them into the Rock Ridge NM entries.
    const data = readFileSync(iso);
    for (const [name, patched] of Object.entries(names)) {
      if (name === patched) continue;
      const entry = Buffer.concat([Buffer.from('NM'), Buffer.from([5 + name.length, 1, 0]), Buffer.from(name)]);
      const at = data.indexOf(entry);
      expect(at).toBeGreaterThan(0);
      Buffer.from(patched).copy(data, at + 5);
    }
    writeFileSync(iso, data);
    return iso;
  }

  it('escapes a Rock Ridge name of an ISO image', async () => {
    const iso = isoWith({ [`evil${hostile}.apk`]: `evil${hostile}.apk` });
    const result = runCli([
      'build',
      '--boot-media',
      iso,
      '--overlay',
      overlay,
      '--output',
      output(),
      '--size',
      '64MiB',
    ]);
    expect(result.status).toBe(1);
    expectSafe(result.stderr);
    expect(result.stderr).toContain('evil\\x1b]0;pwned\\x07');
  });

  for (const [what, name, patched] of [
    ['..', 'q9', '..'],
    ['a name with a slash', 'aXb.apk', 'a/b.apk'],
  ] as const) {
    it(`refuses a Rock Ridge name that is ${what}, as damaged media`, async () => {
      const error = await refused(isoWith({ [name]: patched }));
      expect(error.code).toBe('invalid-media');
      expect(error.message).toBe(`a name in /apks/x86_64 is "${patched}", which cannot be a file name`);
      expect(error.location).toMatch(/\.iso, byte \d+$/);
    });
  }
});
