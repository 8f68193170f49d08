import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { PayloadTooLargeError } from '../../main/services/image/fat32-builder.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { alpineMembers, writeTarGz, type TarMember } from '../helpers/tar-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { mtoolsRead } from '../helpers/external-tools.js';

const MiB = 1024 * 1024;
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
let counter = 0;

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05 });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

/** Build and expect a clear error; check that nothing that looks like a card was left. */
async function expectRefused(
  bootMedia: string,
  pattern: RegExp,
  options: { partitionBytes?: number; overlay?: string } = {},
): Promise<AppError> {
  counter += 1;
  const output = path.join(temp.dir, `out-${counter}.img`);
  const error = await buildImage({
    bootMedia,
    overlay: options.overlay ?? overlay,
    output,
    partitionBytes: options.partitionBytes ?? 64 * MiB,
  }).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).message + ' ' + ((error as AppError).location ?? '')).toMatch(pattern);
  expect(existsSync(output)).toBe(false);
  expect(readdirSync(temp.dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  return error as AppError;
}

async function tarball(members: TarMember[]): Promise<string> {
  counter += 1;
  const file = path.join(temp.dir, `media-${counter}.tar.gz`);
  await writeTarGz(file, members);
  return file;
}

describe('bad boot media', () => {
  it('a truncated gzip file', async () => {
    const data = readFileSync(media.tarball);
    const truncated = path.join(temp.dir, 'truncated.tar.gz');
    writeFileSync(truncated, data.subarray(0, Math.floor(data.length / 2)));
    const error = await expectRefused(truncated, /gzip stream ends early: the file is truncated/);
    expect(error.location).toMatch(/after the member ".*"/);
    expect(error.hint).toMatch(/download/);
  });

  it('a file that is not gzip at all', async () => {
    const plain = path.join(temp.dir, 'plain.tar.gz');
    writeFileSync(plain, 'this is not gzip');
    await expectRefused(plain, /not Alpine boot media: neither a gzip tarball nor an ISO 9660 image/);
  });

  it('a corrupt tar header', async () => {
    const tarData = zlib.gunzipSync(readFileSync(media.tarball));
    // Damage the name field of the fourth 512-byte header: its checksum no longer matches.
    let offset = 0;
    for (let member = 0; member < 3; member += 1) {
      const size = parseInt(tarData.toString('latin1', offset + 124, offset + 136).trim() || '0', 8);
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    tarData[offset + 3] = (tarData[offset + 3] ?? 0) ^ 0x55;
    const corrupt = path.join(temp.dir, 'corrupt.tar.gz');
    writeFileSync(corrupt, zlib.gzipSync(tarData, { level: 1 }));
    const error = await expectRefused(corrupt, /tar header is corrupt \(bad header checksum/);
    expect(error.location).toContain(`(byte ${offset} of the unpacked tar)`);
  });

  it('a path that climbs out with ..', async () => {
    await expectRefused(
      await tarball([...alpineMembers(), { name: './../escape.txt', content: 'x' }]),
      /"\.\/\.\.\/escape\.txt" is refused: it contains "\.\."/,
    );
  });

  it('an absolute path', async () => {
    await expectRefused(await tarball([...alpineMembers(), { name: '/etc/shadow', content: 'x' }]), /absolute path/);
  });

  it('a device node', async () => {
    await expectRefused(
      await tarball([...alpineMembers(), { name: './null', type: 'character-device' }]),
      /character device/,
    );
  });

  it('a symbolic link that leaves the media', async () => {
    await expectRefused(
      await tarball([...alpineMembers(), { name: './boot/x', type: 'symlink', linkname: '../../etc/shadow' }]),
      /outside the media/,
    );
  });

  it('a name FAT cannot store', async () => {
    const error = await expectRefused(
      await tarball([...alpineMembers(), { name: './boot/a:b.txt', content: 'x' }]),
      /FAT cannot store the name "a:b\.txt"/,
    );
    expect(error.location).toBe('boot/a:b.txt');
  });

  it('two names that differ only in case', async () => {
    await expectRefused(
      await tarball([
        ...alpineMembers(),
        { name: './boot/Readme.txt', content: 'a' },
        { name: './boot/README.TXT', content: 'b' },
      ]),
      /"boot\/README\.TXT" and "boot\/Readme\.txt" differ only in upper\/lower case/,
    );
  });

  it('media that are not Alpine boot media', async () => {
    const other = createSyntheticRpiMedia({
      dir: path.join(temp.dir, 'other'),
      scale: 0.01,
      overlayCount: 3,
      apkCount: 1,
      omit: ['.alpine-release'],
    });
    await expectRefused(other.tarball, /not Alpine boot media: it has no \.alpine-release/);
  });

  it('media larger than the partition, with the size it needs', async () => {
    const big = createSyntheticRpiMedia({
      dir: path.join(temp.dir, 'big'),
      scale: 0.4,
      overlayCount: 10,
      apkCount: 10,
    });
    const error = await expectRefused(
      big.tarball,
      /the boot files need [\d.]+ MiB, more than the partition holds \(33 MiB FAT32 partition: [\d.]+ MiB for files/,
      {
        partitionBytes: 33 * MiB,
      },
    );
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    const needed = (error as PayloadTooLargeError).neededBytes;
    expect(needed).toBeGreaterThan(big.bytes);
    expect(needed).toBeLessThan(big.bytes * 1.1);
    // The suggested size really is enough.
    const suggested = (error as PayloadTooLargeError).suggestedPartitionBytes as number;
    expect(error.hint).toMatch(/--size/);
    const output = path.join(temp.dir, 'fits.img');
    await buildImage({ bootMedia: big.tarball, overlay, output, partitionBytes: suggested });
    expect(existsSync(output)).toBe(true);
  });
});

describe('links inside the media', () => {
  it('stores a copy of the target for symbolic and hard links', async () => {
    const media = await tarball([
      ...alpineMembers(),
      { name: './boot/vmlinuz', type: 'symlink', linkname: 'vmlinuz-rpi' },
      { name: './kernel.img', type: 'link', linkname: './boot/vmlinuz-rpi' },
    ]);
    const output = path.join(temp.dir, 'links.img');
    await buildImage({ bootMedia: media, overlay, output, partitionBytes: 64 * MiB });
    const kernel = Buffer.alloc(100_000, 7);
    const read = (name: string): Buffer => mtoolsRead(output, name);
    expect(read('boot/vmlinuz').equals(kernel)).toBe(true);
    expect(read('kernel.img').equals(kernel)).toBe(true);
  });

  it('refuses a link to something that is not there', async () => {
    await expectRefused(
      await tarball([...alpineMembers(), { name: './boot/x', type: 'symlink', linkname: 'missing' }]),
      /points to "boot\/missing", which is not in the media/,
    );
  });
});

describe('bad overlays', () => {
  it('an overlay that is not gzip', async () => {
    const bad = path.join(temp.dir, 'bad.apkovl.tar.gz');
    writeFileSync(bad, 'plain text');
    await expectRefused(media.tarball, /this is not gzip/, { overlay: bad });
  });

  it('an overlay that is gzip but not tar', async () => {
    const bad = path.join(temp.dir, 'notar.apkovl.tar.gz');
    writeFileSync(bad, zlib.gzipSync(Buffer.from('plain text, not a tar archive, '.repeat(40))));
    await expectRefused(media.tarball, /the tar archive inside is damaged/, { overlay: bad });
  });

  it('an overlay whose etc/hostname is not a host name', async () => {
    const bad = createOverlay(temp.dir, 'bad_host');
    await expectRefused(media.tarball, /etc\/hostname in the overlay holds "bad_host"/, { overlay: bad });
  });
});
