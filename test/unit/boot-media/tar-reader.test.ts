import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { TarFormatError, TarReader, type ByteSource } from '../../../main/services/boot-media/tar-reader.js';
import { makeTempDir } from '../../helpers/temp.js';

/** Serves `data` in pieces of the given sizes (cycled), as views like a lending source. */
function pieces(data: Buffer, sizes: number[] = [1 << 20]): ByteSource {
  let at = 0;
  let turn = 0;
  return {
    pull(max: number) {
      if (at >= data.length) return Promise.resolve(null);
      const size = Math.max(1, Math.min(max, sizes[turn++ % sizes.length] as number, data.length - at));
      const view = data.subarray(at, at + size);
      at += size;
      return Promise.resolve(view);
    },
  };
}

interface Read {
  name: string;
  type: string;
  linkname: string;
  size: number;
  mtime: number;
  data: string;
}

async function readAll(source: ByteSource): Promise<Read[]> {
  const reader = new TarReader(source);
  const members: Read[] = [];
  for (let member = await reader.next(); member !== null; member = await reader.next()) {
    const parts: Buffer[] = [];
    for (let view = await reader.read(); view !== null; view = await reader.read()) parts.push(Buffer.from(view));
    const { name, type, linkname, size, mtime } = member;
    members.push({ name, type, linkname, size, mtime, data: Buffer.concat(parts).toString('latin1') });
  }
  return members;
}

async function failure(source: ByteSource): Promise<TarFormatError> {
  const error: unknown = await readAll(source).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TarFormatError);
  return error as TarFormatError;
}

const temp = makeTempDir();
afterAll(() => temp.cleanup());

const longFolder = `${'deep-folder-name-'.repeat(5)}end`;
const longName = `${'a-very-long-file-name-'.repeat(4)}.dtbo`;
const tree = path.join(temp.dir, 'tree');
mkdirSync(path.join(tree, 'boot', longFolder), { recursive: true });
writeFileSync(path.join(tree, 'boot', 'vmlinuz-rpi'), Buffer.alloc(70_000, 'k'));
writeFileSync(path.join(tree, 'boot', longFolder, longName), 'overlay data');
writeFileSync(path.join(tree, 'cmdline.txt'), 'modules=loop quiet\n');
writeFileSync(path.join(tree, 'grüße.txt'), 'unicode name');
writeFileSync(path.join(tree, 'empty'), '');
symlinkSync('cmdline.txt', path.join(tree, 'link.txt'));

/** The tree packed by GNU tar in a given format: a tool this project did not write. */
function gnuTar(format: string): Buffer {
  return execFileSync('tar', [
    '-C',
    tree,
    `--format=${format}`,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@1735689600',
    '-cf',
    '-',
    '.',
  ]);
}

const expected = [
  { name: './', type: 'directory', size: 0, data: '' },
  { name: './boot/', type: 'directory', size: 0, data: '' },
  { name: `./boot/${longFolder}/`, type: 'directory', size: 0, data: '' },
  { name: `./boot/${longFolder}/${longName}`, type: 'file', size: 12, data: 'overlay data' },
  { name: './boot/vmlinuz-rpi', type: 'file', size: 70_000, data: 'k'.repeat(70_000) },
  { name: './cmdline.txt', type: 'file', size: 19, data: 'modules=loop quiet\n' },
  { name: './empty', type: 'file', size: 0, data: '' },
  { name: './grüße.txt', type: 'file', size: 12, data: 'unicode name' },
  { name: './link.txt', type: 'symlink', size: 0, data: '', linkname: 'cmdline.txt' },
];

describe('TarReader', () => {
  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads GNU tar's ${format} format: long names, unicode, links, empty files`, async () => {
      const members = await readAll(pieces(gnuTar(format)));
      expect(members.map(({ name, type, size, data, linkname }) => ({ name, type, size, data, linkname }))).toEqual(
        expected.map((member) => ({ linkname: '', ...member })),
      );
      expect(new Set(members.map((member) => member.mtime))).toEqual(new Set([1735689600]));
    });
  }

  it('reads old v7 headers, where folders are only marked by a trailing slash', async () => {
    const v7Tree = path.join(temp.dir, 'v7');
    mkdirSync(path.join(v7Tree, 'dir'), { recursive: true });
    writeFileSync(path.join(v7Tree, 'dir', 'file'), 'v7');
    const data = execFileSync('tar', ['-C', v7Tree, '--format=v7', '--sort=name', '-cf', '-', 'dir']);
    expect(data.toString('latin1', 257, 262)).not.toBe('ustar');
    const members = await readAll(pieces(data));
    expect(members.map(({ name, type, data: content }) => [name, type, content])).toEqual([
      ['dir/', 'directory', ''],
      ['dir/file', 'file', 'v7'],
    ]);
  });

  it('gives the same members whatever sizes the source delivers its bytes in', async () => {
    const data = gnuTar('pax');
    const whole = await readAll(pieces(data));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        expect(await readAll(pieces(data, sizes))).toEqual(whole);
      }),
      { numRuns: 40 },
    );
  });

  it('skips the data of members whose body is not read', async () => {
    const reader = new TarReader(pieces(gnuTar('gnu'), [100]));
    const names: string[] = [];
    for (let member = await reader.next(); member !== null; member = await reader.next()) names.push(member.name);
    expect(names).toEqual(expected.map((member) => member.name));
  });

  it('hands out member data as views into the source, without copying it', async () => {
    const data = gnuTar('gnu');
    const reader = new TarReader(pieces(data));
    let member = await reader.next();
    while (member !== null && member.name !== './boot/vmlinuz-rpi') member = await reader.next();
    const view = (await reader.read()) as Uint8Array;
    expect(view.buffer).toBe(data.buffer);
  });

  it('reads sizes in base-256, as GNU tar writes them for files of 8 GiB and more', async () => {
    const data = Buffer.from(gnuTar('gnu'));
    const offset = data.indexOf('./cmdline.txt');
    data.fill(0, offset + 124, offset + 136);
    data[offset + 124] = 0x80;
    data.writeUInt32BE(19, offset + 132);
    rewriteChecksum(data, offset);
    const members = await readAll(pieces(data));
    expect(members.find((member) => member.name === './cmdline.txt')?.data).toBe('modules=loop quiet\n');
  });

  it('refuses a header whose checksum does not match, naming its offset', async () => {
    const data = Buffer.from(gnuTar('gnu'));
    const offset = data.indexOf('./cmdline.txt');
    data[offset + 5] = (data[offset + 5] as number) ^ 0x20;
    const error = await failure(pieces(data));
    expect(error.kind).toBe('corrupt');
    expect(error.message).toMatch(/bad header checksum/);
    expect(error.offset).toBe(offset);
  });

  it('refuses a size field that is not a number', async () => {
    const data = Buffer.from(gnuTar('gnu'));
    const offset = data.indexOf('./cmdline.txt');
    data.write('00000zz0023\0', offset + 124, 'latin1');
    rewriteChecksum(data, offset);
    expect((await failure(pieces(data))).message).toMatch(/size field "00000zz0023" is not an octal number/);
  });

  it('refuses an archive cut in the middle of a member or of a header', async () => {
    const data = gnuTar('gnu');
    const offset = data.indexOf('./boot/vmlinuz-rpi');
    const inData = await failure(pieces(data.subarray(0, offset + 512 + 1000)));
    expect(inData.kind).toBe('truncated');
    expect(inData.message).toMatch(/69000 bytes of a member missing/);
    const inHeader = await failure(pieces(data.subarray(0, offset + 100)));
    expect(inHeader.message).toMatch(/ends in the middle of a header/);
  });

  it('ends at a member boundary without the end-of-archive blocks, as tar does', async () => {
    const data = gnuTar('gnu');
    const offset = data.indexOf('./link.txt');
    const members = await readAll(pieces(data.subarray(0, offset)));
    expect(members.at(-1)?.name).toBe('./grüße.txt');
  });

  it('reads dates before 1970, as GNU (base-256) and pax (negative mtime) write them', async () => {
    const oldTree = path.join(temp.dir, 'old');
    mkdirSync(oldTree, { recursive: true });
    writeFileSync(path.join(oldTree, 'old.txt'), 'from 1960');
    execFileSync('touch', ['-d', '@-315619200', path.join(oldTree, 'old.txt')]);
    for (const format of ['gnu', 'pax']) {
      const archive = execFileSync('tar', ['-C', oldTree, `--format=${format}`, '-cf', '-', 'old.txt']);
      const members = await readAll(pieces(archive));
      expect(members.map((member) => [member.name, member.mtime, member.data])).toEqual([
        ['old.txt', -315619200, 'from 1960'],
      ]);
    }
  });

  it('treats a file-type member whose name ends in a slash as a folder', async () => {
    const members = await readAll(pieces(Buffer.concat([header({ name: 'boot/', type: '0' }), END])));
    expect(members.map((member) => [member.name, member.type])).toEqual([['boot/', 'directory']]);
  });

  it('applies pax keywords, and an empty value removes one', async () => {
    const archive = Buffer.concat([
      paxHeader('22 path=long/name.txt\n'),
      header({ name: 'short.txt', type: '0', size: 2 }),
      data('ok'),
      paxHeader('8 path=\n'),
      header({ name: 'kept.txt', type: '0', size: 4 }),
      data('kept'),
      END,
    ]);
    const members = await readAll(pieces(archive));
    expect(members.map((member) => [member.name, member.data])).toEqual([
      ['long/name.txt', 'ok'],
      ['kept.txt', 'kept'],
    ]);
  });

  it('skips the data a pax hard link carries and stays in step', async () => {
    const archive = Buffer.concat([
      header({ name: 'a.txt', type: '0', size: 3 }),
      data('aaa'),
      paxHeader('12 size=600\n'),
      header({ name: 'b.txt', type: '1', linkname: 'a.txt' }),
      data('x'.repeat(600)),
      header({ name: 'c.txt', type: '0', size: 3 }),
      data('ccc'),
      END,
    ]);
    const members = await readAll(pieces(archive));
    expect(members.map((member) => [member.name, member.type, member.linkname])).toEqual([
      ['a.txt', 'file', ''],
      ['b.txt', 'link', 'a.txt'],
      ['c.txt', 'file', ''],
    ]);
  });

  it('refuses an archive that ends right after a pax header', async () => {
    const error = await failure(pieces(Buffer.concat([paxHeader('22 path=long/name.txt\n'), END])));
    expect(error.kind).toBe('truncated');
    expect(error.message).toMatch(/ends after a pax or GNU long-name header/);
  });

  it('refuses malformed and oversized pax headers', async () => {
    const pax = (records: string, size = Buffer.byteLength(records)): Buffer => {
      const header = Buffer.alloc(512);
      header.write('PaxHeader', 0);
      header.write('0000644\0', 100);
      header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
      header.write('00000000000\0', 136);
      header.write('x', 156);
      header.write('ustar\x0000', 257, 'latin1');
      rewriteChecksum(header, 0);
      const body = Buffer.alloc(Math.ceil(Buffer.byteLength(records) / 512) * 512);
      body.write(records);
      return Buffer.concat([header, body, Buffer.alloc(1024)]);
    };
    expect((await failure(pieces(pax('99 path=x\n')))).message).toMatch(/pax header record is malformed/);
    expect((await failure(pieces(pax('11 size=-1\n')))).message).toMatch(/pax size "-1" is not a valid number/);
    expect((await failure(pieces(pax('', 5 << 20)))).message).toMatch(/too large to be real/);
  });
});

/** One 512-byte header, as tar writes it, with a correct checksum. */
function header(fields: { name: string; type: string; size?: number; linkname?: string; mtime?: number }): Buffer {
  const block = Buffer.alloc(512);
  block.write(fields.name, 0);
  block.write('0000644\0', 100);
  block.write(`${(fields.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  block.write(`${(fields.mtime ?? 1735689600).toString(8).padStart(11, '0')}\0`, 136);
  block.write(fields.type, 156);
  block.write(fields.linkname ?? '', 157);
  block.write('ustar\x0000', 257, 'latin1');
  rewriteChecksum(block, 0);
  return block;
}

function paxHeader(records: string): Buffer {
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(records) / 512) * 512);
  body.write(records);
  return Buffer.concat([header({ name: 'PaxHeader', type: 'x', size: Buffer.byteLength(records) }), body]);
}

const data = (text: string): Buffer => {
  const block = Buffer.alloc(Math.ceil(text.length / 512) * 512);
  block.write(text);
  return block;
};
const END = Buffer.alloc(1024);

function rewriteChecksum(data: Buffer, offset: number): void {
  data.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let index = 0; index < 512; index += 1) sum += data[offset + index] as number;
  data.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
}
