import { promises as fs } from 'node:fs';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { BuildSummary } from '../../../shared/model/build-image.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import { formatBytes, parseSize } from '../../../shared/model/size.js';
import { composeBootMedia, emptyComposeReport, type Injection, type MediaFacts } from '../boot-media/compose.js';
import { readOverlayFile } from '../boot-media/overlay-file.js';
import type { MediaSource, MediaSourceOptions } from '../boot-media/media-source.js';
import { openTarball } from '../boot-media/tarball-source.js';
import { createImageFileTarget } from '../flash/file-target.js';
import type { LoadedDefinition } from '../machine/load-definition.js';
import type { OverlayResult } from '../overlay/overlay-service.js';
import { definitionSources, type NamedFile, refuseOutputOverInput } from '../output-guard.js';
import { writeCard } from './card-writer.js';
import { MAX_PARTITION_SECTORS, PARTITION_START_BYTES, PARTITION_TYPE_FAT32_LBA, SECTOR_SIZE } from './constants.js';
import { encodeVolumeLabel } from './fat32-boot-sector.js';
import { MIN_FAT32_SECTORS } from './fat32-geometry.js';

export type { BuildSummary };

export const DEFAULT_IMAGE_PARTITION_BYTES = 512 << 20;
export const DEFAULT_VOLUME_LABEL = 'ALPINE';

export interface BuildImageOptions {
  /** Alpine boot media: `alpine-rpi-<version>-<arch>.tar.gz` or `alpine-<flavor>-<version>-x86_64.iso`. */
  bootMedia: string;
  /** The apkovl to put on the card (`*.apkovl.tar.gz`)... */
  overlay?: string;
  /** ...or a machine definition to generate it from (with its card settings). */
  definition?: { file: string; secretsFile?: string };
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

/** "alpine-rpi-3.22.2 251009" -> "3.22.2". */
export function releaseVersion(alpineRelease: string | null): string | null {
  return /-(\d+\.\d+\.\d+(?:_rc\d+)?)\b/.exec(alpineRelease ?? '')?.[1] ?? null;
}

/** Boot media by kind: an x86_64 ISO (for UEFI sticks) or a Raspberry Pi tarball. */
export async function openBootMedia(path: string, options: MediaSourceOptions): Promise<MediaSource> {
  if (!/\.iso$/i.test(path)) return openTarball(path, options);
  const { openIsoMedia } = await import('../boot-media/iso-source.js');
  return openIsoMedia(path, options);
}

/**
 * The files a build reads besides the boot media and the definition's sources, by the option
 * that names them: the image must not be written over any of them.
 */
export function buildInputs(options: Pick<BuildImageOptions, 'overlay' | 'definition' | 'usercfg'>): NamedFile[] {
  return [
    ...(options.overlay !== undefined ? [{ name: '--overlay', path: options.overlay }] : []),
    ...(options.definition !== undefined ? [{ name: 'the machine definition', path: options.definition.file }] : []),
    ...(options.definition?.secretsFile !== undefined
      ? [{ name: '--secrets', path: options.definition.secretsFile }]
      : []),
    ...(options.usercfg !== undefined ? [{ name: '--usercfg', path: options.usercfg }] : []),
  ];
}

const MAX_PARTITION_MIB = MAX_PARTITION_SECTORS / 2048;

/**
 * A size the card's partition can have: whole sectors, at least the smallest FAT32 volume, and
 * at most what an MBR can address (its 32-bit sector numbers end at 2 TiB, and the partition
 * starts at 1 MiB: 2 TiB - 1 MiB). `location` names where the size came from.
 */
export function checkPartitionSize(bytes: number, location: string): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % SECTOR_SIZE !== 0) {
    throw new AppError(
      'invalid-input',
      `the partition size ${bytes} is not a whole number of ${SECTOR_SIZE}-byte sectors`,
      {
        location,
        hint: 'give the size in MiB or GiB, for example 512MiB',
      },
    );
  }
  if (bytes > MAX_PARTITION_SECTORS * SECTOR_SIZE) {
    throw new AppError(
      'invalid-input',
      `a ${formatBytes(bytes)} partition (${bytes} bytes) is larger than an MBR can address: its sector numbers end at 2 TiB and the partition starts at 1 MiB, so it can have at most 2 TiB - 1 MiB (${MAX_PARTITION_MIB} MiB)`,
      { location, hint: `give ${MAX_PARTITION_MIB}MiB or less` },
    );
  }
  if (bytes < MIN_FAT32_SECTORS * SECTOR_SIZE) {
    throw new AppError(
      'too-small',
      `a FAT32 partition needs at least ${formatBytes(MIN_FAT32_SECTORS * SECTOR_SIZE)} (${MIN_FAT32_SECTORS} sectors); ${formatBytes(bytes)} is too small`,
      { location, hint: 'give 64MiB or more, for example 256MiB' },
    );
  }
}

/** Run `check`; an AppError it throws is reported at `location`. */
function relocate(check: () => unknown, location: string): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError(error.code, error.message, {
      location,
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      cause: error,
    });
  }
}

/** The definition must describe the machine these media boot. */
function checkMediaMatch(loaded: LoadedDefinition, media: MediaFacts, bootMedia: string): void {
  const { target, alpine } = loaded.machine;
  const rpiMedia = media.alpineRelease?.startsWith('alpine-rpi') ?? false;
  if ((target.board === 'rpi') !== rpiMedia) {
    throw new AppError(
      'invalid-input',
      `the boot media (${media.alpineRelease ?? 'unknown'}) are not for ${target.board === 'rpi' ? 'a Raspberry Pi' : 'an x86_64 UEFI stick'}`,
      {
        location: bootMedia,
        hint:
          target.board === 'rpi'
            ? 'use alpine-rpi-<version>-<arch>.tar.gz'
            : 'use alpine-<flavor>-<version>-x86_64.iso',
      },
    );
  }
  if (media.arch !== null && media.arch !== target.arch) {
    throw new AppError(
      'invalid-input',
      `the boot media are for ${media.arch} but the definition targets ${target.arch}`,
      {
        location: bootMedia,
        hint: `use alpine-rpi-<version>-${target.arch}.tar.gz, or change target.arch`,
      },
    );
  }
  const version = releaseVersion(media.alpineRelease);
  if (alpine.version !== undefined && version !== null && version !== alpine.version) {
    throw new AppError(
      'invalid-input',
      `the boot media are Alpine ${version} but the definition pins ${alpine.version}`,
      {
        location: bootMedia,
        hint: 'use the media of that release, or change alpine.version',
      },
    );
  }
  const branch = alpine.branch;
  if (version !== null && /^v\d+\.\d+$/.test(branch) && !version.startsWith(`${branch.slice(1)}.`)) {
    throw new AppError('invalid-input', `the boot media are Alpine ${version}, not branch ${branch}`, {
      location: bootMedia,
    });
  }
}

/**
 * Boot media + apkovl (or a machine definition) -> a card image (MBR + FAT32), in one streaming
 * pass. The image appears at `output` only when complete; on any failure nothing is left behind.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuildSummary> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  if ((options.overlay === undefined) === (options.definition === undefined)) {
    throw new AppError('invalid-input', 'give either an apkovl or a machine definition', {
      hint: 'apkovl build machine.yml --boot-media ... or apkovl build --overlay x.apkovl.tar.gz --boot-media ...',
    });
  }
  await refuseOutputOverInput({ name: '--output', path: options.output }, [
    { name: '--boot-media', path: options.bootMedia },
    ...buildInputs(options),
  ]);
  // Machine definitions bring the schema and YAML libraries: loaded only when one is used.
  const definitionTools = options.definition
    ? { ...(await import('../machine/load-definition.js')), ...(await import('../overlay/overlay-service.js')) }
    : null;
  const definition =
    options.definition && definitionTools
      ? await definitionTools.loadDefinition(
          options.definition.file,
          options.definition.secretsFile !== undefined ? { secretsFile: options.definition.secretsFile } : {},
        )
      : null;
  const overlayFile = options.overlay === undefined ? null : await readOverlayFile(options.overlay);
  if (definition)
    await refuseOutputOverInput({ name: '--output', path: options.output }, definitionSources(definition));

  let partitionBytes = options.partitionBytes;
  let sizeLocation = '--size';
  if (partitionBytes === undefined && definition && definition.machine.boot.partition_size !== 'whole') {
    sizeLocation = `${definition.file}: boot.partition_size`;
    partitionBytes = parseSize(definition.machine.boot.partition_size, sizeLocation);
  }
  partitionBytes ??= DEFAULT_IMAGE_PARTITION_BYTES;
  checkPartitionSize(partitionBytes, sizeLocation);
  let usercfg: Buffer | undefined =
    options.usercfg === undefined
      ? undefined
      : await fs.readFile(options.usercfg).catch((error: unknown) => {
          throw new AppError('not-found', `cannot read usercfg: ${(error as Error).message}`, {
            location: '--usercfg',
            cause: error,
          });
        });
  let cmdlineAppend = options.cmdlineAppend ?? [];
  let volumeLabel = options.volumeLabel ?? DEFAULT_VOLUME_LABEL;
  let directories: string[] = [];
  let generated: OverlayResult | null = null;
  let overlay: Injection | ((media: MediaFacts) => Promise<Injection>);
  if (definition !== null && definitionTools !== null) {
    const { overlayFromDefinition } = definitionTools;
    // Generated once now, so that a definition whose overlay fails the checks stops before any
    // write, and for the card settings, which come from the definition unless the command line
    // says otherwise. It is generated again at the end to pin the media's release branch.
    const settings = (await overlayFromDefinition(definition, { mtime: options.sourceDateEpoch ?? 0 })).generated.card;
    usercfg ??= settings.usercfg === null ? undefined : Buffer.from(settings.usercfg);
    cmdlineAppend = [...settings.cmdlineAppend, ...cmdlineAppend];
    volumeLabel = options.volumeLabel ?? settings.label;
    directories = settings.directories;
    overlay = async (media) => {
      checkMediaMatch(definition, media, options.bootMedia);
      const version = releaseVersion(media.alpineRelease);
      const releaseBranch = version === null ? undefined : `v${version.split('.').slice(0, 2).join('.')}`;
      const made = await overlayFromDefinition(definition, {
        mtime: options.sourceDateEpoch ?? 0,
        ...(releaseBranch !== undefined ? { releaseBranch } : {}),
      });
      generated = made;
      return { name: made.fileName, data: made.data };
    };
  } else {
    const file = overlayFile as NonNullable<typeof overlayFile>;
    overlay = { name: file.fileName, data: file.data };
  }

  // Checked now rather than when the boot sector is written, after the whole media.
  relocate(() => encodeVolumeLabel(volumeLabel), options.volumeLabel !== undefined ? '--label' : 'label');

  let meter: ProgressMeter | null = null;
  const source = await openBootMedia(options.bootMedia, {
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
  const report = emptyComposeReport();
  const entries = composeBootMedia(
    source.entries(),
    {
      overlay,
      directories,
      ...(usercfg ? { usercfg } : {}),
      ...(cmdlineAppend.length > 0 ? { cmdlineAppend } : {}),
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
      volumeLabel,
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
    const made = generated as OverlayResult | null;
    const overlaySummary = made
      ? { fileName: made.fileName, hostname: made.hostname, sha256: made.sha256 }
      : overlayFile
        ? { fileName: overlayFile.fileName, hostname: overlayFile.hostname, sha256: overlayFile.sha256 }
        : null;
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
        label: volumeLabel,
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
      overlay: overlaySummary,
      warnings: [
        ...(overlayFile?.warnings ?? []),
        ...(definition?.warnings.map((issue) => `${issue.path}: ${issue.message}`) ?? []),
        ...(made?.generated.warnings ?? []),
      ],
      seconds: (now() - started) / 1000,
    };
  } catch (error) {
    await target.abort();
    // Whatever broke while stopping (a destroyed stream, a closed file) was caused by the stop.
    if (options.signal?.aborted) throw new CancelledError();
    throw error;
  }
}
