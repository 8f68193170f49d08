import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { BuildRequest } from '../../../shared/model/requests.js';
import { parseSize } from '../../../shared/model/size.js';
import type { MediaFacts } from '../boot-media/compose.js';
import { readOverlayFile, type OverlayFile } from '../boot-media/overlay-file.js';
import { mediaKindOf } from '../files/file-kind.js';
import { encodeVolumeLabel } from '../image/fat32-boot-sector.js';
import type { LoadedDefinition } from '../machine/load-definition.js';
import { definitionSources, refuseOutputOverInput } from '../output-guard.js';
import type { FetchedRelease } from '../releases/fetch-release.js';
import type { OfflinePackages, OfflinePackagesOptions } from '../apk/offline-packages.js';
import { formatBytes } from '../../../shared/model/size.js';
import { PARTITION_START_BYTES } from '../image/constants.js';
import type { MediaScan } from './scan-media.js';
import type { IsoPartitionPlan } from '../boot-media/iso-partition.js';
import type { SyslinuxBootCode } from '../boot-media/syslinux-boot-code.js';
import type { SyslinuxSourceOptions } from '../boot-media/syslinux-source.js';
import { DEFAULT_HYBRID_FAT_BYTES } from './defaults.js';
import { hybridImageBytes } from '../image/hybrid-stick-writer.js';
import { checkPartitionSize, relocate } from './card-checks.js';
import { DEFAULT_IMAGE_PARTITION_BYTES, DEFAULT_VOLUME_LABEL } from './defaults.js';

export { DEFAULT_IMAGE_PARTITION_BYTES, DEFAULT_VOLUME_LABEL };

/** The card settings of a build: the command line over the definition over the defaults. */
export interface PlannedCard {
  /** Null: the whole target (a device). */
  partitionBytes: number | null;
  volumeLabel: string;
  usercfg: Buffer | null;
  cmdlineAppend: string[];
  directories: string[];
  seed: string | undefined;
  sourceDateEpoch: number | undefined;
}

/**
 * Everything a build needs, loaded and checked before a byte is written: the source (the
 * definition loaded once, or the apkovl read and checked), the media (fetched and verified, or
 * the file given, its kind decided by content) and the card settings.
 */
export interface BuildPlan {
  request: BuildRequest;
  media: { path: string; kind: 'tarball' | 'iso'; sha256: string | null; fetched: FetchedRelease | null };
  definition: LoadedDefinition | null;
  /** sha256 of the definition file as read. */
  definitionSha256: string | null;
  overlayFile: OverlayFile | null;
  card: PlannedCard;
  /** Warnings about the definition and the apkovl, for the summary. */
  warnings: string[];
  /** alpine.offline: the packages for the card's apk cache, and the media as scanned for them. */
  offline: { packages: OfflinePackages; scan: MediaScan } | null;
  /**
   * fat: one FAT32 partition with the boot files (Raspberry Pi, UEFI-only stick). iso-fat: a
   * BIOS+UEFI stick, the ISO in partition 1 and the FAT32 partition (EFI loader, apkovl) beside it.
   */
  layout: StickLayout;
}

export type StickLayout =
  { kind: 'fat' } | { kind: 'iso-fat'; iso: IsoPartitionPlan; bootCode: SyslinuxBootCode; isoBytes: number };

/** Which firmware a stick of this layout boots. */
export function layoutFirmware(plan: Pick<BuildPlan, 'layout' | 'media'>): Array<'rpi' | 'uefi' | 'bios'> {
  if (plan.layout.kind === 'iso-fat') return ['bios', 'uefi'];
  return plan.media.kind === 'iso' ? ['uefi'] : ['rpi'];
}

/** What the build asks of the boot code service; the services add the environment and the job. */
export type SyslinuxBootCodeRequest = Omit<
  SyslinuxSourceOptions,
  'env' | 'cacheDir' | 'signal' | 'onProgress' | 'onNote'
> & { cacheDir?: string };

/** What the build asks of the package service; the services add the environment and the job. */
export type OfflinePackagesRequest = Omit<
  OfflinePackagesOptions,
  'env' | 'cacheDir' | 'signal' | 'onProgress' | 'onNote'
> & { cacheDir?: string };

export interface PlanContext {
  sourceDateEpoch: number | undefined;
  /** Boot media for a release: verified, from the cache or a mirror. */
  fetchRelease(options: {
    board: 'rpi' | 'x86_64' | 'x86_64-uefi';
    arch: string;
    flavor?: string;
    branch?: string;
    version?: string;
    mirrors: string[];
    trustedKeyFile?: string;
    cacheDir?: string;
    offline: boolean;
  }): Promise<FetchedRelease>;
  /** mbr.bin and isohdppx.bin of the ISO's release, for a BIOS+UEFI stick. */
  syslinuxBootCode?(request: SyslinuxBootCodeRequest): Promise<SyslinuxBootCode>;
  /** The verified packages of an offline machine (alpine.offline). */
  offlinePackages?(request: OfflinePackagesRequest): Promise<OfflinePackages>;
  /** Something to tell the user before anything is written (the package count and size). */
  note?(text: string): void;
}

/** "alpine-rpi-3.22.2 251009" -> "3.22.2". */
export function releaseVersion(alpineRelease: string | null): string | null {
  return /-(\d+\.\d+\.\d+(?:_rc\d+)?)\b/.exec(alpineRelease ?? '')?.[1] ?? null;
}

/** The release branch that media of this release belong to: "3.22.2" -> "v3.22". */
export function releaseBranch(alpineRelease: string | null): string | undefined {
  const version = releaseVersion(alpineRelease);
  return version === null ? undefined : `v${version.split('.').slice(0, 2).join('.')}`;
}

export async function planBuild(request: BuildRequest, context: PlanContext): Promise<BuildPlan> {
  const { source, media, card } = request;
  let definition: LoadedDefinition | null = null;
  let overlayFile: OverlayFile | null = null;
  let definitionSha256: string | null = null;
  let settings: { label: string; usercfg: string | null; cmdlineAppend: string[]; directories: string[] } | null = null;
  const warnings: string[] = [];
  if (source.kind === 'definition') {
    const { loadDefinition } = await import('../machine/load-definition.js');
    definition = await loadDefinition(
      source.file,
      source.secretsFile !== undefined ? { secretsFile: source.secretsFile } : {},
    );
    definitionSha256 = createHash('sha256')
      .update(await readFile(source.file))
      .digest('hex');
    // Generated once now, so that a definition whose overlay fails the checks stops here, and
    // for the card settings. It is generated again when the media's release is known.
    const { overlayFromDefinition } = await import('../overlay/overlay-service.js');
    const made = await overlayFromDefinition(definition, { mtime: context.sourceDateEpoch ?? 0 });
    settings = made.generated.card;
    warnings.push(...definition.warnings.map((issue) => `${issue.path}: ${issue.message}`), ...made.generated.warnings);
  } else {
    overlayFile = await readOverlayFile(source.file);
    warnings.push(...overlayFile.warnings);
  }

  // The output must not replace any input (compared by device and inode).
  if (request.destination.kind === 'image') {
    const output = { name: '--output', path: request.destination.path };
    await refuseOutputOverInput(output, [
      ...(media.kind === 'file' ? [{ name: '--boot-media', path: media.path }] : []),
      ...(media.kind === 'fetch' && media.trustedKeyFile !== undefined
        ? [{ name: '--trusted-key', path: media.trustedKeyFile }]
        : []),
      ...(source.kind === 'apkovl' ? [{ name: '--overlay', path: source.file }] : []),
      ...(source.kind === 'definition' ? [{ name: 'the machine definition', path: source.file }] : []),
      ...(source.kind === 'definition' && source.secretsFile !== undefined
        ? [{ name: '--secrets', path: source.secretsFile }]
        : []),
      ...(card.usercfgFile !== undefined ? [{ name: '--usercfg', path: card.usercfgFile }] : []),
      ...(definition !== null ? definitionSources(definition) : []),
    ]);
  }

  let partitionBytes: number | null = card.partitionBytes ?? null;
  let defaultSize = false;
  let sizeLocation = '--size';
  if (partitionBytes === null && definition !== null && definition.machine.boot.partition_size !== 'whole') {
    sizeLocation = `${definition.file}: boot.partition_size`;
    partitionBytes = parseSize(definition.machine.boot.partition_size, sizeLocation);
  }
  if (partitionBytes === null && request.destination.kind === 'image') {
    partitionBytes = DEFAULT_IMAGE_PARTITION_BYTES;
    defaultSize = true;
  }
  if (partitionBytes !== null) checkPartitionSize(partitionBytes, sizeLocation);
  let usercfg: Buffer | null = null;
  if (card.usercfgFile !== undefined) {
    usercfg = await readFile(card.usercfgFile).catch((error: unknown) => {
      throw new AppError('not-found', `cannot read usercfg: ${(error as Error).message}`, {
        location: '--usercfg',
        cause: error,
      });
    });
  } else if (settings !== null && settings.usercfg !== null) {
    usercfg = Buffer.from(settings.usercfg);
  }

  let mediaPlan: BuildPlan['media'];
  if (media.kind === 'file') {
    mediaPlan = { path: media.path, kind: await mediaKindOf(media.path, '--boot-media'), sha256: null, fetched: null };
  } else {
    const wanted = definition
      ? {
          board: definition.machine.target.board,
          arch: definition.machine.target.arch,
          flavor: definition.machine.alpine.flavor,
          ...(definition.machine.alpine.version !== undefined
            ? { version: definition.machine.alpine.version }
            : { branch: definition.machine.alpine.branch }),
        }
      : media.release;
    if (wanted === undefined) {
      throw new AppError('usage', 'without a machine definition, give the boot media', {
        location: '--boot-media',
        hint: 'apkovl fetch --board rpi --arch aarch64 prints the path of verified media',
      });
    }
    const mirrors = media.mirrors.length > 0 ? media.mirrors : definition ? [definition.machine.alpine.mirror] : [];
    const fetched = await context.fetchRelease({
      ...wanted,
      mirrors,
      ...(media.trustedKeyFile !== undefined ? { trustedKeyFile: media.trustedKeyFile } : {}),
      ...(media.cacheDir !== undefined ? { cacheDir: media.cacheDir } : {}),
      offline: media.offline,
    });
    mediaPlan = {
      path: fetched.path,
      kind: await mediaKindOf(fetched.path, fetched.path),
      sha256: fetched.sha256,
      fetched,
    };
  }

  const volumeLabel = card.volumeLabel ?? settings?.label ?? DEFAULT_VOLUME_LABEL;
  // Checked now rather than when the boot sector is written, after the whole media.
  relocate(() => encodeVolumeLabel(volumeLabel), card.volumeLabel !== undefined ? '--label' : 'label');

  const plan: BuildPlan = {
    request,
    media: mediaPlan,
    definition,
    definitionSha256,
    overlayFile,
    offline: null,
    layout: { kind: 'fat' },
    card: {
      partitionBytes,
      volumeLabel,
      usercfg,
      cmdlineAppend: [...(settings?.cmdlineAppend ?? []), ...card.cmdlineAppend],
      directories: settings?.directories ?? [],
      seed: card.seed,
      sourceDateEpoch: context.sourceDateEpoch,
    },
    warnings,
  };
  const board = definition?.machine.target.board ?? (media.kind === 'fetch' ? media.release?.board : undefined);
  const firmware = card.firmware ?? (board === 'x86_64' ? 'bios-uefi' : 'uefi');
  if (firmware === 'bios-uefi') {
    if (mediaPlan.kind !== 'iso') {
      throw new AppError('invalid-input', 'BIOS boot is for x86_64 sticks made from an Alpine ISO', {
        location: card.firmware !== undefined ? '--firmware' : 'target.board',
        hint: 'a Raspberry Pi card boots through the Pi firmware; use --firmware only with an x86_64 ISO',
      });
    }
    plan.layout = await planIsoLayout(plan, context);
    if (defaultSize) plan.card.partitionBytes = DEFAULT_HYBRID_FAT_BYTES;
  } else if (mediaPlan.kind === 'iso') {
    context.note?.(
      'the stick boots UEFI PCs only (one FAT32 partition); target.board: x86_64 or --firmware bios-uefi makes one that boots BIOS PCs too',
    );
  }
  if (definition !== null && definition.machine.alpine.offline) {
    plan.offline = await planOfflinePackages(plan, definition, context, sizeLocation);
  }
  return plan;
}

/**
 * A BIOS+UEFI stick: the ISO checked for BIOS boot from a partition (El Torito isolinux with a
 * boot info table, no apkovl of its own), the sectors to patch (kernel parameters), and the boot
 * code from the release's syslinux package, before a byte is written.
 */
async function planIsoLayout(plan: BuildPlan, context: PlanContext): Promise<StickLayout> {
  if (context.syslinuxBootCode === undefined) throw new AppError('internal', 'no boot code service');
  const { openIso } = await import('../boot-media/iso9660.js');
  const { planIsoPartition } = await import('../boot-media/iso-partition.js');
  const image = await openIso(plan.media.path);
  try {
    const releaseNode = image.root.children.find((node) => node.name === '.alpine-release' && !node.isDirectory);
    const alpineRelease =
      releaseNode === undefined || releaseNode.size > 4096
        ? null
        : (await image.readRange(releaseNode.extent * 2048, releaseNode.size)).toString('utf8').trim();
    const arch =
      image.root.children.find((node) => node.name === 'apks')?.children.find((node) => node.isDirectory)?.name ?? null;
    checkMediaMatch(plan, { alpineRelease, arch });
    const iso = await planIsoPartition(image, plan.card.cmdlineAppend);
    const { request } = plan;
    const mirrors =
      request.media.kind === 'fetch' && request.media.mirrors.length > 0
        ? request.media.mirrors
        : (request.packages?.mirrors.length ?? 0) > 0
          ? (request.packages?.mirrors ?? [])
          : plan.definition !== null
            ? [plan.definition.machine.alpine.mirror.replace(/\/+$/, '')]
            : [];
    const cacheDir =
      request.packages?.cacheDir ?? (request.media.kind === 'fetch' ? request.media.cacheDir : undefined);
    const bootCode = await context.syslinuxBootCode({
      image,
      arch: arch ?? 'x86_64',
      branch: releaseBranch(alpineRelease) ?? null,
      mirrors,
      apkKeys: request.packages?.apkKeys ?? [],
      offline: request.packages?.offline === true || (request.media.kind === 'fetch' && request.media.offline),
      ...(cacheDir !== undefined ? { cacheDir } : {}),
    });
    context.note?.(
      `BIOS boot code: mbr.bin and isohdppx.bin from ${bootCode.packageName} (${bootCode.source}); the stick boots BIOS and UEFI PCs`,
    );
    return { kind: 'iso-fat', iso, bootCode, isoBytes: image.size };
  } finally {
    await image.close();
  }
}

/**
 * alpine.offline: read the media once (release, and which packages their apks/ holds), resolve
 * the world against the signed indexes of the repositories the overlay lists, fetch and check
 * every package the media lack, and check that it all fits, before a byte is written.
 */
async function planOfflinePackages(
  plan: BuildPlan,
  definition: LoadedDefinition,
  context: PlanContext,
  sizeLocation: string,
): Promise<NonNullable<BuildPlan['offline']>> {
  if (context.offlinePackages === undefined) throw new AppError('internal', 'no package service for alpine.offline');
  const { scanMedia, checkFit } = await import('./scan-media.js');
  const scan = await scanMedia(plan);
  const branch = releaseBranch(scan.alpineRelease);
  const { overlayFromDefinition } = await import('../overlay/overlay-service.js');
  const { mirrorRepositoryLines, repositoryBranch } = await import('../overlay/generate.js');
  const made = await overlayFromDefinition(definition, {
    mtime: context.sourceDateEpoch ?? 0,
    ...(branch !== undefined ? { releaseBranch: branch } : {}),
  });
  const machine = definition.machine;
  const lines = mirrorRepositoryLines(machine, branch);
  const { request } = plan;
  const packages = await context.offlinePackages({
    branch: repositoryBranch(machine, branch),
    arch: machine.target.arch,
    mirror: machine.alpine.mirror.replace(/\/+$/, ''),
    repositories: machine.alpine.repositories.map((name, index) => ({ name, line: lines[index] as string })),
    world: made.generated.world,
    mediaApks: scan.apks,
    apkKeys: request.packages?.apkKeys ?? [],
    offline: request.packages?.offline === true || (request.media.kind === 'fetch' && request.media.offline),
    ...(request.packages?.cacheDir !== undefined
      ? { cacheDir: request.packages.cacheDir }
      : request.media.kind === 'fetch' && request.media.cacheDir !== undefined
        ? { cacheDir: request.media.cacheDir }
        : {}),
  });
  context.note?.(
    `offline packages: ${packages.packages} of ${packages.resolved} go into the card's apk cache (${formatBytes(packages.packageBytes)}, with ${packages.files.length - packages.packages} signed indexes ${formatBytes(packages.indexBytes)}); ${packages.onBootMedia.length} are on the boot media`,
  );
  const offline = { packages, scan };
  if (plan.card.partitionBytes !== null) {
    checkFit({ ...plan, offline }, scan, fullBytes(plan, plan.card.partitionBytes), sizeLocation);
  }
  return offline;
}

/** The bytes an image (or the used part of a device) takes for a FAT partition of `partitionBytes`. */
export function fullBytes(plan: Pick<BuildPlan, 'layout'>, partitionBytes: number): number {
  if (plan.layout.kind === 'fat') return PARTITION_START_BYTES + partitionBytes;
  return hybridImageBytes(plan.layout.isoBytes, partitionBytes);
}

/** The definition must describe the machine these media boot. */
export function checkMediaMatch(plan: BuildPlan, media: MediaFacts): void {
  const loaded = plan.definition;
  if (loaded === null) return;
  const where = plan.media.path;
  const { target, alpine } = loaded.machine;
  const rpiMedia = media.alpineRelease?.startsWith('alpine-rpi') ?? false;
  if ((target.board === 'rpi') !== rpiMedia) {
    throw new AppError(
      'invalid-input',
      `the boot media (${media.alpineRelease ?? 'unknown'}) are not for ${target.board === 'rpi' ? 'a Raspberry Pi' : 'an x86_64 stick'}`,
      {
        location: where,
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
      { location: where, hint: `use alpine-rpi-<version>-${target.arch}.tar.gz, or change target.arch` },
    );
  }
  const version = releaseVersion(media.alpineRelease);
  if (alpine.version !== undefined && version !== null && version !== alpine.version) {
    throw new AppError(
      'invalid-input',
      `the boot media are Alpine ${version} but the definition pins ${alpine.version}`,
      { location: where, hint: 'use the media of that release, or change alpine.version' },
    );
  }
  const branch = alpine.branch;
  if (version !== null && /^v\d+\.\d+$/.test(branch) && !version.startsWith(`${branch.slice(1)}.`)) {
    throw new AppError('invalid-input', `the boot media are Alpine ${version}, not branch ${branch}`, {
      location: where,
    });
  }
}

/** The file name shown in the manifest (no folders of the user's machine). */
export function baseName(file: string): string {
  return path.basename(file);
}
