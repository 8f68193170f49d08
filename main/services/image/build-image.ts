import { promises as fs } from 'node:fs';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { BuildSummary } from '../../../shared/model/build-image.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import { composeBootMedia, type ComposeReport } from '../boot-media/compose.js';
import { readOverlayFile, type OverlayFile } from '../boot-media/overlay-file.js';
import { openTarball } from '../boot-media/tarball-source.js';
import { createImageFileTarget } from '../flash/file-target.js';
import { writeCard } from './card-writer.js';
import { PARTITION_START_BYTES, PARTITION_TYPE_FAT32_LBA, SECTOR_SIZE } from './constants.js';

export type { BuildSummary };

export const DEFAULT_IMAGE_PARTITION_BYTES = 512 << 20;
export const DEFAULT_VOLUME_LABEL = 'ALPINE';

export interface BuildImageOptions {
  /** Alpine boot media: `alpine-rpi-<version>-<arch>.tar.gz`. */
  bootMedia: string;
  /** The apkovl to put on the card (`*.apkovl.tar.gz`). */
  overlay?: string;
  /** Image file to create. */
  output: string;
  /** Size of the FAT32 partition; the image is 1 MiB larger. */
  partitionBytes?: number;
  volumeLabel?: string;
  /** A file whose content becomes `usercfg.txt`. */
  usercfg?: string;
  cmdlineAppend?: string[];
  seed?: string;
  /** Timestamp for added files (reproducible builds); default: newest in the media. */
  sourceDateEpoch?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Milliseconds, for progress rates. */
  now?: () => number;
}

export function formatVolumeId(volumeId: number): string {
  const hex = (volumeId >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}

/**
 * Boot media + apkovl -> a card image (MBR + FAT32), in one streaming pass. The image appears
 * at `output` only when complete; on any failure nothing is left behind.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuildSummary> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const partitionBytes = options.partitionBytes ?? DEFAULT_IMAGE_PARTITION_BYTES;
  if (partitionBytes % SECTOR_SIZE !== 0) {
    throw new AppError(
      'invalid-input',
      `the partition size ${partitionBytes} is not a multiple of ${SECTOR_SIZE} bytes`,
      {
        location: '--size',
        hint: 'give the size in MiB or GiB, for example 512MiB',
      },
    );
  }
  const overlay: OverlayFile | null = options.overlay === undefined ? null : await readOverlayFile(options.overlay);
  const usercfg =
    options.usercfg === undefined
      ? undefined
      : await fs.readFile(options.usercfg).catch((error: unknown) => {
          throw new AppError('not-found', `cannot read usercfg: ${(error as Error).message}`, {
            location: '--usercfg',
            cause: error,
          });
        });

  let meter: ProgressMeter | null = null;
  const source = await openTarball(options.bootMedia, {
    onRead: (bytes) => meter?.update(bytes),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (options.onProgress) {
    meter = new ProgressMeter({
      phase: 'build',
      label: 'Writing boot files',
      total: source.size,
      listener: options.onProgress,
      now,
    });
  }
  const report: ComposeReport = { dropped: [], injected: [], alpineRelease: null, identity: null };
  const entries = composeBootMedia(
    source.entries(),
    {
      ...(overlay ? { overlay: { name: overlay.fileName, data: overlay.data } } : {}),
      ...(usercfg ? { usercfg } : {}),
      ...(options.cmdlineAppend ? { cmdlineAppend: options.cmdlineAppend } : {}),
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      fingerprint: source.fingerprint,
      sourceName: options.bootMedia,
    },
    report,
  );

  const target = await createImageFileTarget(options.output, PARTITION_START_BYTES + partitionBytes);
  try {
    const result = await writeCard({
      target,
      partitionBytes,
      entries,
      volumeLabel: options.volumeLabel ?? DEFAULT_VOLUME_LABEL,
      defaultMtime: options.sourceDateEpoch ?? 0,
      identity: () => {
        if (report.identity === null) throw new AppError('internal', 'the media was not fully read');
        return report.identity;
      },
      onFinalize: () => {
        meter?.finish();
        options.onProgress?.({
          phase: 'build',
          label: 'Writing folders, FATs and boot sectors',
          bytes: 0,
          total: null,
          bytesPerSecond: null,
          etaSeconds: null,
        });
      },
    });
    if (options.signal?.aborted) throw new CancelledError();
    await target.commit();
    const { layout, stats } = result;
    return {
      output: options.output,
      imageBytes: target.size,
      partition: {
        startLba: layout.partitionStartLba,
        sectors: layout.partitionSectors,
        bytes: layout.partitionSectors * SECTOR_SIZE,
        type: PARTITION_TYPE_FAT32_LBA,
        bootable: true,
      },
      filesystem: {
        type: 'FAT32',
        label: options.volumeLabel ?? DEFAULT_VOLUME_LABEL,
        volumeId: formatVolumeId(stats.volumeId),
        clusterSize: stats.clusterSize,
        clusters: stats.clusterCount,
        usedBytes: stats.usedClusters * stats.clusterSize,
        freeBytes: stats.freeBytes,
      },
      files: stats.files,
      directories: stats.directories,
      fileBytes: stats.fileBytes,
      alpineRelease: report.alpineRelease,
      dropped: report.dropped,
      injected: report.injected,
      overlay: overlay ? { fileName: overlay.fileName, hostname: overlay.hostname, sha256: overlay.sha256 } : null,
      warnings: overlay?.warnings ?? [],
      seconds: (now() - started) / 1000,
    };
  } catch (error) {
    await target.abort();
    // Whatever broke while stopping (a destroyed stream, a closed file) was caused by the stop.
    if (options.signal?.aborted) throw new CancelledError();
    throw error;
  }
}
