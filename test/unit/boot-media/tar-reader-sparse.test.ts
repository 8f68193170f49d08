import { execFileSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TarReader, type ByteSource, type TarMember } from '../../../main/services/boot-media/tar-reader.js';
import { makeTempDir } from '../../helpers/temp.js';

/** Sparse files and owners as real GNU tar writes them: what the tar reader must recognise. */

function source(data: Buffer, piece = 777): ByteSource {
  let at = 0;
  return {
    pull(max: number) {
      if (at >= data.length) return Promise.resolve(null);
      const view = data.subarray(at, at + Math.min(max, piece));
      at += view.length;
      return Promise.resolve(view);
    },
  };
}

interface Read extends TarMember {
  data: string;
  owner: ReturnType<TarReader['details']>;
}

async function readAll(data: Buffer): Promise<Read[]> {
  const reader = new TarReader(source(data));
  const out: Read[] = [];
  for (let member = await reader.next(); member !== null; member = await reader.next()) {
    const owner = reader.details();
    const parts: Buffer[] = [];
    // Read only small bodies: a sparse member's stored data is skipped, as the media reader does.
    if (member.type === 'file') {
      for (let view = await reader.read(); view !== null; view = await reader.read()) parts.push(Buffer.from(view));
    }
    out.push({ ...member, owner, data: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const tree = path.join(temp.dir, 'tree');
mkdirSync(tree);
// Ten islands of data in 10 MiB of holes: more sparse regions than a GNU header holds (4), so
// GNU tar writes extension blocks of sparse entries before the data.
const sparse = path.join(tree, 'disk.img');
writeFileSync(sparse, '');
truncateSync(sparse, 10 << 20);
const handle = openSync(sparse, 'r+');
for (let island = 0; island < 10; island += 1)
  writeSync(handle, Buffer.alloc(4096, 65 + island), 0, 4096, island << 20);
closeSync(handle);
writeFileSync(path.join(tree, 'zz-after.txt'), 'the member after the sparse one\n');

function gnuTar(...options: string[]): Buffer {
  return execFileSync('tar', [
    '-C',
    tree,
    '--sparse',
    ...options,
    '--sort=name',
    '-cf',
    '-',
    'disk.img',
    'zz-after.txt',
  ]);
}

describe('sparse members', () => {
  for (const version of ['0.0', '0.1', '1.0']) {
    it(`recognises GNU tar's pax sparse format ${version} and stays in step after it`, async () => {
      const members = await readAll(gnuTar('--format=posix', `--sparse-version=${version}`));
      expect(members).toHaveLength(2);
      const [first, second] = members as [Read, Read];
      expect(first.type).toBe('sparse-file');
      // 0.0 keeps the real name; 0.1 and 1.0 store GNUSparseFile.<pid>/disk.img and name it in GNU.sparse.name.
      if (version === '0.0') expect(first.name).toBe('disk.img');
      else {
        expect(first.name).toMatch(/^(\.\/)?GNUSparseFile\.\d+\/disk\.img$/);
        expect(first.sparseName).toBe('disk.img');
      }
      expect(second).toMatchObject({ name: 'zz-after.txt', type: 'file', data: 'the member after the sparse one\n' });
    });
  }

  it('recognises the GNU format (type S) with extension blocks of sparse entries, and stays in step', async () => {
    const archive = gnuTar('--format=gnu');
    // The header says "extended": the reader must skip the extension blocks before the data.
    expect(archive[156]).toBe('S'.charCodeAt(0));
    expect(archive[482]).toBe(1);
    const members = await readAll(archive);
    expect(members.map((member) => [member.name, member.type])).toEqual([
      ['disk.img', 'sparse-file'],
      ['zz-after.txt', 'file'],
    ]);
    expect(members[1]?.data).toBe('the member after the sparse one\n');
  });

  it('leaves ordinary files alone when a global pax header is present', async () => {
    const members = await readAll(
      execFileSync('tar', [
        '-C',
        tree,
        '--format=posix',
        '--pax-option=globexthdr.name=g,comment=x',
        '-cf',
        '-',
        'zz-after.txt',
      ]),
    );
    expect(members.map((member) => member.type)).toEqual(['file']);
  });
});

describe('member details', () => {
  it("reads mode, owner and group, with pax's uid and gid when octal cannot hold them", async () => {
    const archive = execFileSync('tar', [
      '-C',
      tree,
      '--format=posix',
      '--owner=alice:3000000',
      '--group=staff:50',
      '--mode=0640',
      '-cf',
      '-',
      'zz-after.txt',
    ]);
    // 3000000 is more than the 7 octal digits of a ustar uid field: GNU tar writes a pax uid.
    expect(archive.toString('latin1')).toContain('uid=3000000');
    const [member] = await readAll(archive);
    expect(member?.owner).toMatchObject({ uid: 3000000, gid: 50, uname: 'alice', gname: 'staff' });
    expect((member?.owner.mode ?? 0) & 0o7777).toBe(0o640);
  });

  it('keeps a folder name as stored, without adding a slash', async () => {
    const header = Buffer.alloc(512);
    header.write('etc', 0);
    header.write('0000755\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write('00000000000\0', 124);
    header.write('00000000000\0', 136);
    header.write('5', 156);
    header.write('ustar\0' + '00', 257);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const [member] = await readAll(Buffer.concat([header, Buffer.alloc(1024)]));
    expect(member).toMatchObject({ name: 'etc', type: 'directory' });
  });
});
