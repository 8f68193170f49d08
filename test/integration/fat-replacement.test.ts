import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_MANIFEST_NAME, cardManifestSchema } from '../../shared/model/card-manifest.js';
import { AppError } from '../../shared/errors.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { openReadableFile } from '../../main/services/image/readable-file.js';
import { checkFat32 } from '../../main/services/verify/fat-check.js';
import { readCardFiles } from '../helpers/card-reader.js';
import { fsckFat, mtoolsRead } from '../helpers/external-tools.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { alpineMembers, writeTarGz, type TarMember } from '../helpers/tar-builder.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Tar archives may hold the same path twice; the later member wins, as GNU tar extracts them.
 * Files and links replace each other through one routine of the FAT builder; every card is
 * checked with fsck.fat -n, the FAT checker, mtools and the project's reader.
 */

const MiB = 1024 * 1024;
const PARTITION = 64 * MiB;
const KERNEL = Buffer.alloc(100_000, 7); // boot/vmlinuz-rpi in alpineMembers()
const OLD = Buffer.alloc(30_000, 1);
const NEW = Buffer.alloc(20_000, 2);

let temp: ReturnType<typeof makeTempDir>;
let overlay: string;
let counter = 0;

beforeAll(() => {
  temp = makeTempDir();
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

async function build(
  members: TarMember[],
  options: { usercfg?: Buffer } = {},
): Promise<{ image: string; summary: Awaited<ReturnType<typeof buildImage>> }> {
  counter += 1;
  const media = path.join(temp.dir, `media-${counter}.tar.gz`);
  await writeTarGz(media, [...alpineMembers(), ...members]);
  const image = path.join(temp.dir, `card-${counter}.img`);
  let usercfg: string | undefined;
  if (options.usercfg !== undefined) {
    usercfg = path.join(temp.dir, `usercfg-${counter}.txt`);
    writeFileSync(usercfg, options.usercfg);
  }
  const summary = await buildImage({
    bootMedia: media,
    overlay,
    output: image,
    partitionBytes: PARTITION,
    ...(usercfg === undefined ? {} : { usercfg }),
  });
  return { image, summary };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** fsck.fat -n and the FAT checker find nothing, and mtools and the project's reader see `expected` among the files. */
async function expectCard(image: string, expected: Record<string, Buffer>, fileCount: number): Promise<void> {
  const fsck = fsckFat(image, MiB, PARTITION);
  expect(fsck.output).not.toMatch(/lost|reclaim|differ|wrong|cross|truncat|orphan|fix/i);
  expect(fsck.status).toBe(0);
  const medium = await openReadableFile(image);
  try {
    expect((await checkFat32(medium, { start: MiB / 512, sectors: PARTITION / 512 })).findings).toEqual([]);
  } finally {
    await medium.close();
  }
  const { files, volume } = await readCardFiles(image);
  expect(volume.warnings).toEqual([]);
  expect(files.size).toBe(fileCount);
  // The manifest names every other file on the card with its hash, link copies included.
  const manifest = cardManifestSchema.parse(JSON.parse(mtoolsRead(image, CARD_MANIFEST_NAME).toString('utf8')));
  const listed = new Map(manifest.files.map((file) => [file.path, file.sha256]));
  const onCard = new Map(files);
  onCard.delete(CARD_MANIFEST_NAME);
  expect(listed).toEqual(onCard);
  for (const [name, content] of Object.entries(expected)) {
    expect(mtoolsRead(image, name).equals(content), `mtype ${name}`).toBe(true);
    expect(files.get(name), `reader ${name}`).toBe(sha256(content));
  }
}

async function expectRefused(members: TarMember[], pattern: RegExp): Promise<void> {
  const error = await build(members).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('invalid-media');
  expect((error as AppError).message).toMatch(pattern);
}

// alpineMembers() has .alpine-release, boot/vmlinuz-rpi and cmdline.txt; the overlay is added.
/** The base media's files, the apkovl and the manifest. */
const BASE_FILES = 5;

describe('a later member replaces an earlier one of the same path', () => {
  it('a file, then a symbolic link', async () => {
    const { image, summary } = await build([
      { name: './boot/kernel.img', content: OLD },
      { name: './boot/kernel.img', type: 'symlink', linkname: 'vmlinuz-rpi' },
    ]);
    expect(summary.files).toBe(BASE_FILES + 1);
    await expectCard(image, { 'boot/kernel.img': KERNEL }, BASE_FILES + 1);
  });

  it('a symbolic link, then a file', async () => {
    const { image, summary } = await build([
      { name: './boot/kernel.img', type: 'symlink', linkname: 'vmlinuz-rpi' },
      { name: './boot/kernel.img', content: NEW },
    ]);
    expect(summary.files).toBe(BASE_FILES + 1);
    await expectCard(image, { 'boot/kernel.img': NEW, 'boot/vmlinuz-rpi': KERNEL }, BASE_FILES + 1);
  });

  it('a file, then a hard link; and a hard link, then a file', async () => {
    const linked = await build([
      { name: './kernel.img', content: OLD },
      { name: './kernel.img', type: 'link', linkname: './boot/vmlinuz-rpi' },
    ]);
    await expectCard(linked.image, { 'kernel.img': KERNEL }, BASE_FILES + 1);
    const filed = await build([
      { name: './kernel.img', type: 'link', linkname: './boot/vmlinuz-rpi' },
      { name: './kernel.img', content: NEW },
    ]);
    await expectCard(filed.image, { 'kernel.img': NEW }, BASE_FILES + 1);
  });

  it('a link, then another link', async () => {
    const { image } = await build([
      { name: './boot/kernel.img', type: 'symlink', linkname: 'vmlinuz-rpi' },
      { name: './boot/kernel.img', type: 'symlink', linkname: '../cmdline.txt' },
    ]);
    await expectCard(image, { 'boot/kernel.img': Buffer.from('modules=loop,squashfs quiet\n') }, BASE_FILES + 1);
  });

  it('a file replaced twice, the last time by a link to a file that is itself replaced', async () => {
    const { image } = await build([
      { name: './a.bin', content: OLD },
      { name: './b.bin', content: OLD },
      { name: './a.bin', content: NEW },
      { name: './a.bin', type: 'symlink', linkname: 'b.bin' },
      { name: './b.bin', content: NEW },
    ]);
    // A symbolic link is followed at the end: it sees the last b.bin.
    await expectCard(image, { 'a.bin': NEW, 'b.bin': NEW }, BASE_FILES + 2);
  });
});

describe('links follow tar semantics', () => {
  it('a hard link keeps the file it named, even when a later member replaces that file', async () => {
    const { image } = await build([
      { name: './b.bin', content: OLD },
      { name: './a.bin', type: 'link', linkname: './b.bin' },
      { name: './b.bin', content: NEW },
    ]);
    // As GNU tar extracts it: a.bin is the old b.bin, b.bin the new one.
    await expectCard(image, { 'a.bin': OLD, 'b.bin': NEW }, BASE_FILES + 2);
  });

  it('a link to a link gets the data of the file at the end of the chain, whatever the order', async () => {
    const { image } = await build([
      { name: './b.img', type: 'symlink', linkname: 'boot/vmlinuz-rpi' },
      { name: './a.img', type: 'symlink', linkname: 'b.img' },
      { name: './c.img', type: 'link', linkname: './a.img' },
      { name: './d.img', type: 'symlink', linkname: 'e.img' },
      { name: './e.img', type: 'symlink', linkname: 'a.img' },
    ]);
    await expectCard(
      image,
      { 'a.img': KERNEL, 'b.img': KERNEL, 'c.img': KERNEL, 'd.img': KERNEL, 'e.img': KERNEL },
      BASE_FILES + 5,
    );
  });

  it('refuses a link to itself, and a loop of links', async () => {
    await expectRefused(
      [
        { name: './a.bin', content: OLD },
        { name: './a.bin', type: 'symlink', linkname: 'a.bin' },
      ],
      /the link "a.bin" is part of a loop of links/,
    );
    await expectRefused(
      [
        { name: './a.bin', type: 'symlink', linkname: 'b.bin' },
        { name: './b.bin', type: 'symlink', linkname: 'a.bin' },
      ],
      /is part of a loop of links/,
    );
  });
});

describe('a path that is a folder in one member and a file or link in another is refused', () => {
  // GNU tar replaces an empty folder and fails on a full one; real media never do either, so
  // the builder refuses both with the path, rather than guess.
  it('a link replacing a folder', async () => {
    await expectRefused(
      [{ name: './boot/', type: 'symlink', linkname: 'cmdline.txt' }],
      /"boot" is a folder but is also used as a file/,
    );
  });

  it('a folder replacing a link, as a folder member or as the parent of a file', async () => {
    await expectRefused(
      [
        { name: './kernel', type: 'symlink', linkname: 'cmdline.txt' },
        { name: './kernel/', type: 'directory' },
      ],
      /"kernel" is a file but is also used as a folder/,
    );
    await expectRefused(
      [
        { name: './kernel', type: 'link', linkname: './cmdline.txt' },
        { name: './kernel/x', content: NEW },
      ],
      /"kernel" is a file but is also used as a folder/,
    );
  });

  it('a file replacing a folder, and a folder replacing a file', async () => {
    await expectRefused([{ name: './boot', content: NEW }], /"boot" is a folder but is also used as a file/);
    await expectRefused([{ name: './cmdline.txt/', type: 'directory' }], /"cmdline.txt" is a file but is also used/);
  });
});

describe('the files this tool drops or replaces', () => {
  it('drops default overlays that are links and replaces a usercfg.txt that is a link', async () => {
    const usercfg = Buffer.from('dtoverlay=vc4-kms-v3d\n');
    const { image, summary } = await build(
      [
        { name: './kiosk-hall.apkovl.tar.gz', content: OLD },
        { name: './alpine.apkovl.tar.gz', type: 'symlink', linkname: 'kiosk-hall.apkovl.tar.gz' },
        { name: './kiosk-hall.apkovl.tar.gz', type: 'link', linkname: './cmdline.txt' },
        { name: './usercfg.txt', type: 'symlink', linkname: 'cmdline.txt' },
      ],
      { usercfg },
    );
    expect(summary.dropped).toEqual(['kiosk-hall.apkovl.tar.gz', 'alpine.apkovl.tar.gz']);
    expect(summary.injected).toEqual(['usercfg.txt', 'kiosk-hall.apkovl.tar.gz']);
    const { files } = await readCardFiles(image);
    expect([...files.keys()].filter((name) => name.includes('.apkovl.tar.gz'))).toEqual(['kiosk-hall.apkovl.tar.gz']);
    await expectCard(image, { 'usercfg.txt': usercfg }, BASE_FILES + 1);
  });
});
