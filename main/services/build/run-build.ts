import path from 'node:path';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { BuildSummary } from '../../../shared/model/build-image.js';
import { CARD_MANIFEST_NAME } from '../../../shared/model/card-manifest.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import type { BuildRequest } from '../../../shared/model/requests.js';
import { hashFileInWorker } from '../files/hash-file.js';
import type { BlockTarget } from '../flash/block-target.js';
import { createImageFileTarget } from '../flash/file-target.js';
import { readBackError, verifyWrittenRanges } from '../flash/read-back.js';
import { recordWrites } from '../flash/write-record.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { describeCard } from './card-summary.js';
import type { ManifestOrigin } from './manifest.js';
import { baseName, fullBytes, layoutFirmware, planBuild, type BuildPlan, type PlanContext } from './plan.js';
import { writePlannedCard, type WrittenCard } from './write-card.js';

export interface RunBuildOptions {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  now: () => number;
  tool: { name: string; version: string };
}

/** Counts the bytes that reach a target (written or zeroed). */
export function countingTarget(target: BlockTarget): BlockTarget & { readonly bytesWritten: number } {
  let bytesWritten = 0;
  return {
    get description() {
      return target.description;
    },
    get size() {
      return target.size;
    },
    get bytesWritten() {
      return bytesWritten;
    },
    allocate: (size) => target.allocate(size),
    write: async (buffer, position) => {
      await target.write(buffer, position);
      bytesWritten += buffer.length;
    },
    zero: async (position, length) => {
      await target.zero(position, length);
      bytesWritten += length;
    },
    read: (buffer, position) => target.read(buffer, position),
    flush: () => target.flush(),
    commit: () => target.commit(),
    abort: () => target.abort(),
  };
}

/** The manifest's origin: the media's hash comes from the cache, or is computed beside the build. */
function manifestOrigin(plan: BuildPlan, options: RunBuildOptions): () => Promise<ManifestOrigin> {
  const mediaHash =
    plan.media.sha256 !== null ? Promise.resolve(plan.media.sha256) : hashFileInWorker(plan.media.path, options.signal);
  // Handled where it is awaited; a failed build must not leave an unhandled rejection behind.
  mediaHash.catch(() => undefined);
  return async () => ({
    tool: options.tool,
    bootMedia: { file: baseName(plan.media.path), sha256: await mediaHash },
    definition:
      plan.definition !== null && plan.definitionSha256 !== null
        ? { file: baseName(plan.definition.file), sha256: plan.definitionSha256 }
        : null,
  });
}

export function summarize(
  plan: BuildPlan,
  written: WrittenCard,
  extra: {
    targetBytes: number;
    bytesWritten: number;
    verification: BuildSummary['verification'];
    seconds: number;
    mediaSha256: string | null;
  },
): BuildSummary {
  const { layout, stats, report, manifest } = written;
  const made = written.generated;
  const file = plan.overlayFile;
  const overlay = made
    ? { fileName: made.fileName, hostname: made.hostname, sha256: made.sha256 }
    : file
      ? { fileName: file.fileName, hostname: file.hostname, sha256: file.sha256 }
      : null;
  const destination = plan.request.destination;
  const card = describeCard(written, plan.card.volumeLabel);
  return {
    destination: { kind: destination.kind, path: destination.path },
    output: destination.path,
    imageBytes: extra.targetBytes,
    firmware: layoutFirmware(plan),
    partition: card.partition,
    isoPartition:
      written.isoPartition !== null && plan.layout.kind === 'iso-fat'
        ? {
            startLba: written.isoPartition.startLba,
            sectors: written.isoPartition.sectors,
            bytes: written.isoPartition.sectors * SECTOR_SIZE,
            type: 0x17,
            volumeId: plan.layout.iso.volumeId,
            edited: plan.layout.iso.edited,
          }
        : null,
    bootCode:
      plan.layout.kind === 'iso-fat'
        ? { package: plan.layout.bootCode.packageName, source: plan.layout.bootCode.source }
        : null,
    filesystem: {
      ...card.filesystem,
      usedBytes: stats.usedClusters * stats.clusterSize,
      metadataBytes: layout.geometry.dataStartSector * SECTOR_SIZE,
    },
    files: stats.files,
    directories: stats.directories,
    fileBytes: stats.fileBytes,
    alpineRelease: report.alpineRelease,
    bootMedia: { path: plan.media.path, sha256: extra.mediaSha256, verified: plan.media.fetched !== null },
    dropped: report.dropped,
    injected: report.injected,
    overlay,
    manifest: { path: CARD_MANIFEST_NAME, files: manifest.files.length },
    bytesWritten: extra.bytesWritten,
    verification: extra.verification,
    warnings: plan.warnings,
    seconds: extra.seconds,
    offlinePackages:
      plan.offline === null
        ? null
        : {
            resolved: plan.offline.packages.resolved,
            packages: plan.offline.packages.packages,
            packageBytes: plan.offline.packages.packageBytes,
            indexes: plan.offline.packages.files.length - plan.offline.packages.packages,
            indexBytes: plan.offline.packages.indexBytes,
            onBootMedia: plan.offline.packages.onBootMedia.length,
          },
  };
}

/** Plan, then write an image file (under a temporary name, renamed into place when complete). */
export async function buildToImage(
  request: BuildRequest,
  planContext: PlanContext,
  options: RunBuildOptions,
): Promise<BuildSummary> {
  const started = options.now();
  if (request.destination.kind !== 'image') throw new AppError('internal', 'buildToImage needs an image destination');
  const plan = await planBuild(request, planContext);
  const partitionBytes = plan.card.partitionBytes as number;
  const origin = manifestOrigin(plan, options);
  const file = countingTarget(await createImageFileTarget(request.destination.path, fullBytes(plan, partitionBytes)));
  const recording = request.verify ? recordWrites(file) : null;
  const target = recording ?? file;
  try {
    const written = await writePlannedCard(plan, target, {
      origin,
      now: options.now,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (options.signal?.aborted) throw new CancelledError();
    let verification: BuildSummary['verification'] = null;
    if (recording !== null) {
      const verifyStarted = options.now();
      const readBack = await verifyWrittenRanges(
        recording.record,
        {
          size: file.size,
          description: request.destination.path,
          read: (buffer, position) => file.read(buffer, position),
        },
        options.onProgress,
        options.signal ? { signal: options.signal } : {},
      );
      const mismatch = readBackError(readBack, request.destination.path);
      if (mismatch !== null) throw mismatch;
      verification = {
        ranges: recording.record.ranges().length,
        bytes: readBack.bytes,
        seconds: (options.now() - verifyStarted) / 1000,
        uncached: false,
      };
    }
    await target.commit();
    return summarize(plan, written, {
      targetBytes: target.size,
      bytesWritten: file.bytesWritten,
      verification,
      seconds: (options.now() - started) / 1000,
      mediaSha256: written.manifest.bootMedia.sha256,
    });
  } catch (error) {
    await target.abort();
    // Whatever broke while stopping (a destroyed stream, a closed file) was caused by the stop.
    if (options.signal?.aborted) throw new CancelledError();
    throw error;
  }
}

/** The drive rules, applied by whoever writes (the CLI in-process, or the worker itself). */
export interface DriveGuard {
  /**
   * Refuse a device that must not be written: a system drive, read-only, too small, holding
   * the source media, the cache or the definition, or a large drive not confirmed as such.
   */
  check(
    devicePath: string,
    context: { neededBytes: number; sources: string[]; cache?: string; largeDriveConfirmed: boolean },
  ): Promise<void>;
  /** Unmount every mounted partition of the device; returns the mount points. */
  unmount(devicePath: string): Promise<string[]>;
  /** Make the operating system read the new partition table. */
  reread(devicePath: string): Promise<void>;
}

/**
 * Plan, then write a device: the drive rules and the confirmed identity checked, its
 * partitions unmounted, the media read through once (release, architecture and size checked
 * before anything is wiped), then probe, write and read back (flashDevice).
 */
export async function buildToDevice(
  request: BuildRequest,
  planContext: PlanContext,
  options: RunBuildOptions & { drives: DriveGuard; cacheDir: string },
): Promise<BuildSummary> {
  const started = options.now();
  const destination = request.destination;
  if (destination.kind !== 'device') throw new AppError('internal', 'buildToDevice needs a device destination');
  const { confirmedIdentity } = await import('./card-summary.js');
  const plan = await planBuild(request, planContext);
  const sources = [
    plan.media.path,
    request.source.file,
    ...(request.source.kind === 'definition' && request.source.secretsFile !== undefined
      ? [request.source.secretsFile]
      : []),
    ...(request.card.usercfgFile !== undefined ? [request.card.usercfgFile] : []),
    // The download caches the offline packages are read from while the card is written
    // (<cache>/files/<sha256>/<name>): one of them on the target would be erased under the build.
    ...new Set(
      (plan.offline?.packages.files ?? []).map((file) => path.dirname(path.dirname(path.dirname(file.source)))),
    ),
  ];
  const identity = await confirmedIdentity(destination.path, destination.confirmed);
  options.onProgress?.({
    phase: 'build',
    label: 'Checking the boot media',
    bytes: 0,
    total: null,
    bytesPerSecond: null,
    etaSeconds: null,
  });
  const { scanMedia, checkFit } = await import('./scan-media.js');
  const scan = plan.offline?.scan ?? (await scanMedia(plan, options.signal));
  checkFit(plan, scan, identity.size, destination.path);
  await options.drives.check(destination.path, {
    neededBytes: scan.fileBytes + (plan.layout.kind === 'iso-fat' ? plan.layout.isoBytes : 0),
    sources,
    ...(plan.media.fetched !== null ? { cache: options.cacheDir } : {}),
    largeDriveConfirmed: destination.largeDriveConfirmed,
  });
  const unmounted = await options.drives.unmount(destination.path);
  const origin = manifestOrigin(plan, options);
  const { flashDevice } = await import('../flash/flash-device.js');
  const phaseLabels = { probe: 'Checking the real capacity', write: 'Writing', verify: 'Reading back' } as const;
  let verifyStarted = 0;
  const flashed = await flashDevice({
    identity,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    onPhase: (phase) => {
      if (phase === 'verify') verifyStarted = options.now();
      options.onProgress?.({
        phase,
        label: phaseLabels[phase],
        bytes: 0,
        total: null,
        bytesPerSecond: null,
        etaSeconds: null,
      });
    },
    write: (target) =>
      writePlannedCard(plan, target, {
        origin,
        now: options.now,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
  });
  const verifySeconds = (options.now() - verifyStarted) / 1000;
  await options.drives.reread(destination.path).catch(() => undefined);
  const seconds = (options.now() - started) / 1000;
  const summary = summarize(plan, flashed.written, {
    targetBytes: identity.size,
    bytesWritten: flashed.bytesWritten,
    verification: {
      ranges: flashed.record.ranges().length,
      bytes: flashed.readBack.bytes,
      seconds: verifySeconds,
      uncached: true,
    },
    seconds,
    mediaSha256: flashed.written.manifest.bootMedia.sha256,
  });
  if (unmounted.length > 0) summary.warnings.unshift(`unmounted before writing: ${unmounted.join(', ')}`);
  return summary;
}
