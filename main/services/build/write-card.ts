import { createReadStream } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import { composeBootMedia, emptyComposeReport, type ComposeReport, type Injection } from '../boot-media/compose.js';
import type { MediaSource, MediaSourceOptions } from '../boot-media/media-source.js';
import type { BlockTarget } from '../flash/block-target.js';
import { writeCard, type WriteCardResult } from '../image/card-writer.js';
import type { OverlayResult } from '../overlay/overlay-service.js';
import { withManifest, type ManifestOrigin } from './manifest.js';
import { checkMediaMatch, releaseBranch, type BuildPlan } from './plan.js';

export interface WrittenCard extends WriteCardResult {
  /** Partition 1 of a BIOS+UEFI stick: the ISO (null for one FAT32 partition). */
  isoPartition: { startLba: number; sectors: number } | null;
  report: ComposeReport;
  manifest: CardManifest;
  /** The overlay generated from the definition (null for a given apkovl). */
  generated: OverlayResult | null;
}

export interface WriteOptions {
  origin: () => Promise<ManifestOrigin>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  now: () => number;
}

/**
 * Boot media by kind (decided by content when the plan was made). `forFat`: only what goes onto
 * the FAT partition (for a BIOS+UEFI stick, the EFI loader and .alpine-release).
 */
export async function openMedia(plan: BuildPlan, options: MediaSourceOptions, forFat = false): Promise<MediaSource> {
  if (plan.media.kind === 'iso') {
    const { openIsoMedia, keepOnHybridFat } = await import('../boot-media/iso-source.js');
    return openIsoMedia(plan.media.path, {
      ...options,
      ...(forFat && plan.layout.kind === 'iso-fat' ? { select: keepOnHybridFat } : {}),
    });
  }
  const { openTarball } = await import('../boot-media/tarball-source.js');
  return openTarball(plan.media.path, options);
}

export function formatVolumeId(volumeId: number): string {
  const hex = (volumeId >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

/**
 * The write step of a build: the media stream through the composer (default apkovls dropped,
 * kernel parameters, usercfg.txt, the apkovl) and the manifest recorder onto `target`, in the
 * card writer's safe order (stale signatures wiped, data, metadata, MBR last).
 */
export async function writePlannedCard(
  plan: BuildPlan,
  target: BlockTarget,
  options: WriteOptions,
): Promise<WrittenCard> {
  let meter: ProgressMeter | null = null;
  const layout = plan.layout;
  const isoBytes = layout.kind === 'iso-fat' ? layout.isoBytes : 0;
  const source = await openMedia(
    plan,
    {
      onRead: (bytes) => meter?.update(isoBytes + bytes),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    true,
  );
  if (options.onProgress) {
    meter = new ProgressMeter({
      phase: 'write',
      label: layout.kind === 'iso-fat' ? 'Writing the ISO and the boot files' : 'Writing boot files',
      total: isoBytes + source.size,
      listener: options.onProgress,
      now: options.now,
    });
  }
  let generated: OverlayResult | null = null;
  const definition = plan.definition;
  let overlay: Injection | ((media: { alpineRelease: string | null; arch: string | null }) => Promise<Injection>);
  if (definition !== null) {
    overlay = async (media) => {
      checkMediaMatch(plan, media);
      const branch = releaseBranch(media.alpineRelease);
      const { overlayFromDefinition } = await import('../overlay/overlay-service.js');
      generated = await overlayFromDefinition(definition, {
        mtime: plan.card.sourceDateEpoch ?? 0,
        ...(branch !== undefined ? { releaseBranch: branch } : {}),
      });
      return { name: generated.fileName, data: generated.data };
    };
  } else {
    const file = plan.overlayFile as NonNullable<BuildPlan['overlayFile']>;
    overlay = { name: file.fileName, data: file.data };
  }
  const report = emptyComposeReport();
  const composed = composeBootMedia(
    source.entries(),
    {
      overlay,
      directories: plan.card.directories,
      ...(plan.offline !== null
        ? {
            files: plan.offline.packages.files.map((file) => ({
              path: `cache/${file.name}`,
              size: file.size,
              // The download cache keeps each file under its SHA-256.
              identity: path.basename(path.dirname(file.source)),
              body: () => createReadStream(file.source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
            })),
          }
        : {}),
      ...(plan.card.usercfg ? { usercfg: plan.card.usercfg } : {}),
      // A BIOS+UEFI stick gets its kernel parameters in the ISO's configurations (iso-partition.ts).
      ...(plan.card.cmdlineAppend.length > 0 && layout.kind === 'fat'
        ? { cmdlineAppend: plan.card.cmdlineAppend }
        : {}),
      ...(layout.kind === 'iso-fat' ? { bootFolder: false } : {}),
      ...(plan.card.sourceDateEpoch !== undefined ? { sourceDateEpoch: plan.card.sourceDateEpoch } : {}),
      ...(plan.card.seed !== undefined ? { seed: plan.card.seed } : {}),
      fingerprint: source.fingerprint,
      sourceName: plan.media.path,
    },
    report,
  );
  const identity = () => {
    if (report.identity === null) throw new AppError('internal', 'the media was not fully read');
    return report.identity;
  };
  let manifest: CardManifest | null = null;
  const entries = withManifest(
    composed,
    {
      origin: options.origin,
      alpineRelease: () => report.alpineRelease,
      apkovlName: () => report.injected.find((name) => name.endsWith('.apkovl.tar.gz')) ?? null,
      volume: () => ({ label: plan.card.volumeLabel, serial: formatVolumeId(identity().volumeId) }),
      mtime: () => report.contentTime ?? 0,
    },
    (made) => (manifest = made),
  );
  const onFinalize = () => {
    meter?.finish();
    options.onProgress?.({
      phase: 'write',
      label: 'Writing folders, FATs and boot sectors',
      bytes: 0,
      total: null,
      bytesPerSecond: null,
      etaSeconds: null,
    });
  };
  let result: WriteCardResult;
  let isoPartition: WrittenCard['isoPartition'] = null;
  if (layout.kind === 'iso-fat') {
    const { writeHybridStick } = await import('../image/hybrid-stick-writer.js');
    const hybrid = await writeHybridStick({
      target,
      iso: { path: plan.media.path, plan: layout.iso },
      bootCode: layout.bootCode,
      ...(plan.card.partitionBytes !== null ? { fatBytes: plan.card.partitionBytes } : {}),
      entries,
      volumeLabel: plan.card.volumeLabel,
      defaultMtime: plan.card.sourceDateEpoch ?? 0,
      identity,
      onIsoBytes: (bytes) => meter?.update(Math.min(bytes, isoBytes)),
      onFinalize,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    isoPartition = hybrid.layout.iso;
    result = {
      layout: {
        partitionStartLba: hybrid.layout.fat.startLba,
        partitionSectors: hybrid.layout.fat.sectors,
        geometry: hybrid.layout.fat.geometry,
      },
      stats: hybrid.stats,
      identity: hybrid.identity,
    };
  } else {
    result = await writeCard({
      target,
      ...(plan.card.partitionBytes !== null ? { partitionBytes: plan.card.partitionBytes } : {}),
      entries,
      volumeLabel: plan.card.volumeLabel,
      defaultMtime: plan.card.sourceDateEpoch ?? 0,
      identity,
      onFinalize,
    });
  }
  if (manifest === null) throw new AppError('internal', 'the manifest was not made');
  return { ...result, isoPartition, report, manifest, generated };
}
