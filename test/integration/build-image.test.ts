import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../main/services/image/build-image.js';
import { MIN_FAT32_SECTORS } from '../../main/services/image/fat32-geometry.js';
import { readCardFiles } from '../helpers/card-reader.js';
import { CARD_MANIFEST_NAME, cardManifestSchema } from '../../shared/model/card-manifest.js';
import {
  fsckFat,
  mtoolsExtract,
  mtoolsPaths,
  mtoolsRead,
  sevenZipList,
  sfdiskJson,
} from '../helpers/external-tools.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
let overlayHash: string;

/** What must be on the card: the media without its default overlay, plus ours (and the manifest, checked apart). */
function expectedFiles(): Map<string, string> {
  const expected = new Map(media.files);
  expected.delete('alpine.apkovl.tar.gz');
  expected.set('kiosk-hall.apkovl.tar.gz', overlayHash);
  return expected;
}

/** The card's files without its manifest, after checking that the manifest lists exactly them. */
function withoutManifest(files: Map<string, string>, image: string): Map<string, string> {
  const manifest = cardManifestSchema.parse(JSON.parse(mtoolsRead(image, CARD_MANIFEST_NAME).toString('utf8')));
  const rest = new Map(files);
  expect(rest.delete(CARD_MANIFEST_NAME)).toBe(true);
  expect(new Map(manifest.files.map((file) => [file.path, file.sha256]))).toEqual(rest);
  return rest;
}

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05, defaultApkovl: true });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
  overlayHash = createHash('sha256').update(readFileSync(overlay)).digest('hex');
});
afterAll(() => temp.cleanup());

describe('apkovl build on synthetic Raspberry Pi media', () => {
  let image: string;
  let summary: Awaited<ReturnType<typeof buildImage>>;

  beforeAll(async () => {
    image = path.join(temp.dir, 'card.img');
    summary = await buildImage({ bootMedia: media.tarball, overlay, output: image, partitionBytes: 256 * MiB });
  });

  it('reports what it did', () => {
    expect(summary).toMatchObject({
      imageBytes: 257 * MiB,
      partition: { startLba: 2048, sectors: 256 * 2048, type: 0x0c, bootable: true },
      filesystem: { type: 'FAT32', label: 'ALPINE', clusterSize: 512 },
      alpineRelease: 'alpine-rpi-3.22.2 251009',
      dropped: ['alpine.apkovl.tar.gz'],
      injected: ['kiosk-hall.apkovl.tar.gz'],
      overlay: { fileName: 'kiosk-hall.apkovl.tar.gz', hostname: 'kiosk-hall', sha256: overlayHash },
    });
    expect(summary.files).toBe(expectedFiles().size + 1); // and the manifest
    expect(summary.manifest).toEqual({ path: CARD_MANIFEST_NAME, files: expectedFiles().size });
    expect(summary.filesystem.clusters).toBeGreaterThanOrEqual(65525);
  });

  it('has the MBR sfdisk expects: one bootable type 0x0C partition at sector 2048', () => {
    const table = sfdiskJson(image);
    expect(table.label).toBe('dos');
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0]).toMatchObject({ start: 2048, size: 256 * 2048, type: 'c', bootable: true });
  });

  it('passes fsck.fat without a single complaint', () => {
    const result = fsckFat(image, MiB, 256 * MiB);
    expect(result.output).not.toMatch(
      /differ|wrong|lost|invalid|bad|orphan|dirty|reclaim|drop|truncat|renam|fix|not found/i,
    );
    expect(result.status).toBe(0);
    expect(result.output).toMatch(/65525|data clusters/);
  });

  it('gives mtools every file, byte for byte, under its exact long name', () => {
    const destination = path.join(temp.dir, 'mcopy');
    mkdirSync(destination);
    expect(withoutManifest(mtoolsExtract(image, destination), image)).toEqual(expectedFiles());
    const paths = mtoolsPaths(image);
    expect(paths).toContain('.alpine-release');
    expect(paths).toContain('apks/.boot_repository');
    expect(paths).toContain('apks/aarch64/APKINDEX.tar.gz');
    expect(paths).toContain('bcm2711-rpi-4-b.dtb');
  });

  it('is listed the same by 7-Zip', () => {
    const listed = sevenZipList(image);
    for (const [memberPath] of expectedFiles()) {
      expect(listed.get(memberPath), memberPath).toBe(
        statSync(path.join(media.tree, memberPath), { throwIfNoEntry: false })?.size ?? readFileSync(overlay).length,
      );
    }
    expect(listed.has('alpine.apkovl.tar.gz')).toBe(false);
  });

  it('reads back identically with the project reader, with no warnings', async () => {
    const { files, volume } = await readCardFiles(image);
    expect(withoutManifest(files, image)).toEqual(expectedFiles());
    expect(volume.warnings).toEqual([]);
    expect(volume.label).toBe('ALPINE');
  });

  it('carries a manifest of where the card came from, with no secret and no folder of this machine', () => {
    const manifest = cardManifestSchema.parse(JSON.parse(mtoolsRead(image, CARD_MANIFEST_NAME).toString('utf8')));
    expect(manifest).toMatchObject({
      format: 'apkovl-studio-card',
      version: 1,
      alpineRelease: 'alpine-rpi-3.22.2 251009',
      bootMedia: {
        file: path.basename(media.tarball),
        sha256: createHash('sha256').update(readFileSync(media.tarball)).digest('hex'),
      },
      definition: null,
      apkovl: { path: 'kiosk-hall.apkovl.tar.gz', sha256: overlayHash, size: readFileSync(overlay).length },
      links: [],
      volume: { label: 'ALPINE', serial: summary.filesystem.volumeId },
    });
    expect(JSON.stringify(manifest)).not.toContain(temp.dir);
  });

  it('has exactly one apkovl at the root', () => {
    expect(mtoolsPaths(image).filter((name) => !name.includes('/') && name.includes('.apkovl.tar.gz'))).toEqual([
      'kiosk-hall.apkovl.tar.gz',
    ]);
  });

  it('leaves no temporary file behind', () => {
    expect(readdirSync(temp.dir).filter((name) => name.includes('partial'))).toEqual([]);
  });
});

describe('determinism', () => {
  it('gives byte-identical images for the same input, and a different serial for another seed', async () => {
    const hashes: string[] = [];
    for (const [name, seed] of [
      ['a.img', undefined],
      ['b.img', undefined],
      ['c.img', 'card-2'],
    ] as const) {
      const output = path.join(temp.dir, name);
      await buildImage({
        bootMedia: media.tarball,
        overlay,
        output,
        partitionBytes: 64 * MiB,
        ...(seed ? { seed } : {}),
      });
      hashes.push(createHash('sha256').update(readFileSync(output)).digest('hex'));
    }
    expect(hashes[1]).toBe(hashes[0]);
    expect(hashes[2]).not.toBe(hashes[0]);
  });
});

describe('partition sizes', () => {
  it('builds the smallest valid FAT32 partition', async () => {
    const small = createSyntheticRpiMedia({
      dir: path.join(temp.dir, 'small'),
      scale: 0.01,
      overlayCount: 20,
      apkCount: 5,
    });
    const output = path.join(temp.dir, 'smallest.img');
    const bytes = MIN_FAT32_SECTORS * 512;
    const result = await buildImage({ bootMedia: small.tarball, overlay, output, partitionBytes: bytes });
    expect(result.filesystem.clusters).toBe(65525);
    expect(fsckFat(output, MiB, bytes).status).toBe(0);
    expect((await readCardFiles(output)).files.size).toBe(small.files.size + 2); // + overlay and manifest
  });

  it('builds a multi-GiB sparse image with 4 KiB clusters', async () => {
    const output = path.join(temp.dir, 'large.img');
    const result = await buildImage({ bootMedia: media.tarball, overlay, output, partitionBytes: 6 * GiB });
    expect(result.filesystem.clusterSize).toBe(4096);
    expect(statSync(output).size).toBe(6 * GiB + MiB);
    expect(statSync(output).blocks * 512).toBeLessThan(64 * MiB); // only the bytes the card needs
    expect(sfdiskJson(output).partitions[0]).toMatchObject({ start: 2048, size: 6 * 2048 * 1024 });
    expect(fsckFat(output, MiB, 6 * GiB).status).toBe(0);
    expect(withoutManifest((await readCardFiles(output)).files, output)).toEqual(expectedFiles());
  });

  it('builds a 2 TiB image, the largest an MBR describes', async () => {
    const output = path.join(temp.dir, 'huge.img');
    const result = await buildImage({
      bootMedia: media.tarball,
      overlay,
      output,
      partitionBytes: 2 * 1024 * GiB - MiB,
    });
    expect(result.filesystem.clusterSize).toBe(32 * 1024);
    expect(result.imageBytes).toBe(2 * 1024 * GiB);
    expect(sfdiskJson(output).partitions[0]).toMatchObject({ start: 2048, size: 2 ** 32 - 2048 });
    await expect(
      buildImage({ bootMedia: media.tarball, overlay, output, partitionBytes: 2 * 1024 * GiB }),
    ).rejects.toThrow(/larger than an MBR can address/);
    expect(withoutManifest((await readCardFiles(output)).files, output)).toEqual(expectedFiles());
    expect(statSync(output).blocks * 512).toBeLessThan(64 * MiB);
    // fsck.fat reads both 256 MiB FATs of 67 million clusters: about 6 s and 800 MB here.
    expect(fsckFat(output, MiB, 2 * 1024 * GiB - MiB).status).toBe(0);
  });
});
