import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { composeBootMedia, emptyComposeReport, type ComposeReport } from '../../main/services/boot-media/compose.js';
import { openTarball } from '../../main/services/boot-media/tarball-source.js';
import type { BlockTarget } from '../../main/services/flash/block-target.js';
import { openFileInPlace } from '../../main/services/flash/file-target.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { writeCard } from '../../main/services/image/card-writer.js';
import { Fat32Volume, readMbr } from '../../main/services/image/fat-reader.js';
import { openReadableFile } from '../../main/services/image/readable-file.js';
import { fsckFat, sfdiskJson } from '../helpers/external-tools.js';
import { readCardFiles } from '../helpers/card-reader.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let validCard: string;

beforeAll(async () => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05 });
  validCard = path.join(temp.dir, 'valid.img');
  await buildImage({
    bootMedia: media.tarball,
    overlay: createOverlay(temp.dir, 'old-host'),
    output: validCard,
    partitionBytes: 128 * MiB,
  });
});
afterAll(() => temp.cleanup());

/** A target whose write fails when `fails` says so: a card pulled out mid-write. */
function failingWhen(target: BlockTarget, fails: (position: number, written: number) => boolean): BlockTarget {
  let written = 0;
  return {
    ...target,
    description: target.description,
    size: target.size,
    allocate: (size) => target.allocate(size),
    read: (buffer, position) => target.read(buffer, position),
    zero: (position, length) => target.zero(position, length),
    flush: () => target.flush(),
    commit: () => target.commit(),
    abort: () => target.abort(),
    async write(buffer, position) {
      if (fails(position, written)) throw new AppError('io', `device went away at byte ${position}`);
      written += buffer.length;
      await target.write(buffer, position);
    },
  };
}

async function looksLikeACard(image: string): Promise<boolean> {
  const medium = await openReadableFile(image);
  try {
    const mbr = await readMbr(medium);
    if (mbr === null || mbr.partitions.length === 0) return false;
    await Fat32Volume.open(medium, (mbr.partitions[0]?.start ?? 0) * 512);
    return true;
  } catch {
    return false;
  } finally {
    await medium.close();
  }
}

async function rewrite(card: string, fails: (position: number, written: number) => boolean): Promise<unknown> {
  const target = failingWhen(await openFileInPlace(card), fails);
  const source = await openTarball(media.tarball);
  const report: ComposeReport = emptyComposeReport();
  try {
    await writeCard({
      target,
      entries: composeBootMedia(source.entries(), { sourceName: media.tarball }, report),
      volumeLabel: 'ALPINE',
      defaultMtime: 0,
      identity: () => report.identity ?? { volumeId: 1, diskSignature: 1 },
    });
    return null;
  } catch (error) {
    return error;
  } finally {
    await target.abort();
  }
}

describe('a write interrupted on a card that held a valid card before', () => {
  // The FAT32 metadata (reserved area and FATs) lies between 1 MiB and 2 MiB on this card.
  const metadata = (position: number): boolean => position >= MiB && position < 2 * MiB;
  it.each([
    ['during the file data', (_position: number, written: number) => written > 2 * MiB],
    ['while writing the FATs', (position: number) => metadata(position) && position > MiB],
    ['while writing the boot sector', (position: number) => position === MiB],
    ['just before the MBR', (position: number) => position === 0],
  ])('leaves no partition table and no FAT32 volume when it stops %s', async (when, fails) => {
    const card = path.join(temp.dir, `card-${when.replace(/\W+/g, '-')}.img`);
    copyFileSync(validCard, card);
    expect(await looksLikeACard(card)).toBe(true);
    const error = await rewrite(card, fails);
    expect(error).toBeInstanceOf(AppError);
    expect(await looksLikeACard(card)).toBe(false);
    expect(() => sfdiskJson(card)).toThrow();
  });

  it('is a valid card again when the write completes', async () => {
    const card = path.join(temp.dir, 'card-complete.img');
    copyFileSync(validCard, card);
    expect(await rewrite(card, () => false)).toBeNull();
    expect(sfdiskJson(card).partitions).toHaveLength(1);
    expect(fsckFat(card, MiB, 128 * MiB).status).toBe(0);
    const { files } = await readCardFiles(card);
    expect(files).toEqual(media.files);
  });
});

describe('a card written over a GPT disk', () => {
  it('leaves no GPT header at either end, where the partition covers the whole device', async () => {
    const card = path.join(temp.dir, 'was-gpt.img');
    writeFileSync(card, Buffer.alloc(0));
    truncateSync(card, 128 * MiB);
    execFileSync('sfdisk', ['--quiet', card], { input: 'label: gpt\n,64MiB,L\n,,L\n' });
    const lastSector = () =>
      readFileSync(card)
        .subarray(128 * MiB - 512)
        .toString('latin1', 0, 8);
    expect(lastSector()).toBe('EFI PART'); // the backup header in the last sector
    expect(await rewrite(card, () => false)).toBeNull();
    expect(lastSector()).not.toBe('EFI PART');
    expect(readFileSync(card).toString('latin1', 512, 520)).not.toBe('EFI PART');
    expect(sfdiskJson(card)).toMatchObject({ label: 'dos', partitions: [{ start: 2048, type: 'c' }] });
    expect(fsckFat(card, MiB, 127 * MiB).status).toBe(0);
  });
});
