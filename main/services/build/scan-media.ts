import { AppError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import type { MediaFacts } from '../boot-media/compose.js';
import { isApkovlName } from '../boot-media/media-path.js';
import { planCardLayout } from '../image/card-writer.js';
import { keepOnHybridFat } from '../boot-media/iso-source.js';
import { planHybridLayout } from '../image/hybrid-stick-writer.js';
import { checkMediaMatch, type BuildPlan } from './plan.js';
import { openMedia } from './write-card.js';

/** What reading the media through once tells before anything is written. */
export interface MediaScan extends MediaFacts {
  /** Bytes of file data that will go on the card (media files, without default apkovls). */
  fileBytes: number;
  files: number;
  /** The file names in the media's package repository (apks/<arch>/), e.g. musl-1.2.5-r10.apk. */
  apks: Set<string>;
}

/**
 * Read the boot media through once, without writing: their release and architecture (checked
 * against the definition) and how much they hold (checked against the target). A device is
 * wiped only after this passed, so that media for the wrong machine or too large for the card
 * never cost the user the card's old content.
 */
export async function scanMedia(plan: BuildPlan, signal?: AbortSignal): Promise<MediaScan> {
  const source = await openMedia(plan, signal === undefined ? {} : { signal });
  const scan: MediaScan = { alpineRelease: null, arch: null, fileBytes: 0, files: 0, apks: new Set() };
  for await (const entry of source.entries()) {
    const repository = /^apks\/([^/]+)\//.exec(entry.path);
    if (repository && scan.arch === null) scan.arch = repository[1] ?? null;
    if (entry.kind !== 'file') continue;
    const apk = /^apks\/[^/]+\/([^/]+\.apk)$/.exec(entry.path);
    if (apk?.[1] !== undefined) scan.apks.add(apk[1]);
    // A BIOS+UEFI stick keeps the ISO as it is: only the EFI loader goes onto its FAT partition.
    const skipped =
      (!entry.path.includes('/') && isApkovlName(entry.path)) ||
      (plan.layout.kind === 'iso-fat' && !keepOnHybridFat(entry.path.toLowerCase()));
    if (skipped) {
      for await (const piece of entry.body) void piece;
      continue;
    }
    scan.files += 1;
    scan.fileBytes += entry.size;
    if (entry.path === '.alpine-release') {
      const parts: Buffer[] = [];
      for await (const piece of entry.body) parts.push(Buffer.from(piece));
      scan.alpineRelease = Buffer.concat(parts).toString('utf8').trim().slice(0, 200);
    } else {
      for await (const piece of entry.body) void piece;
    }
  }
  checkMediaMatch(plan, scan);
  return scan;
}

/**
 * Whether the scanned media fit a partition on a target of `targetBytes`: the files in whole
 * clusters, with room to spare for folders, the apkovl and the manifest.
 */
export function checkFit(plan: BuildPlan, scan: MediaScan, targetBytes: number, where: string): void {
  const geometry =
    plan.layout.kind === 'iso-fat'
      ? relocateToo(
          () =>
            planHybridLayout(
              targetBytes,
              plan.layout.kind === 'iso-fat' ? plan.layout.isoBytes : 0,
              plan.card.partitionBytes ?? undefined,
            ),
          where,
        ).fat.geometry
      : planCardLayout(targetBytes, plan.card.partitionBytes ?? undefined).geometry;
  const { clusterSize, clusterCount } = geometry;
  // Every file rounded up to a cluster; folders, the apkovl, usercfg.txt and the manifest
  // are small: 1 MiB and one cluster per file covers them.
  const cache = plan.offline?.packages.files ?? [];
  const cacheBytes = cache.reduce((sum, file) => sum + file.size, 0);
  const needed =
    scan.fileBytes +
    scan.files * clusterSize +
    cacheBytes +
    cache.length * clusterSize +
    (1 << 20) +
    (plan.overlayFile?.data.length ?? 0);
  const available = clusterCount * clusterSize;
  if (needed > available) {
    const what =
      cache.length > 0
        ? `the boot files (${formatBytes(scan.fileBytes)}) and the apk cache of alpine.offline (${cache.length} files, ${formatBytes(cacheBytes)})`
        : 'the boot files';
    throw new AppError(
      'too-small',
      `${what} need about ${formatBytes(needed)}, and ${where} has room for ${formatBytes(available)}`,
      {
        location: where,
        hint:
          cache.length > 0
            ? 'give a larger partition (boot.partition_size or --size) or a larger card (nothing was written)'
            : 'use a larger card or stick (nothing was written)',
      },
    );
  }
}

/** Run `make`; a too-small error it throws names `where`. */
function relocateToo<T>(make: () => T, where: string): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError(error.code, `${where}: ${error.message}`, {
      location: where,
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      cause: error,
    });
  }
}
