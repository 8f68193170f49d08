import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import type { VerifyRequest } from '../../../shared/model/requests.js';
import {
  verifyCheckIds,
  type CardFacts,
  type VerifyCheck,
  type VerifyCheckId,
  type VerifyReport,
} from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { hashFileInWorker } from '../files/hash-file.js';
import type { ReleaseCache } from '../releases/cache.js';
import { APK_CACHE_TITLE, checkApkCache } from './apk-cache-check.js';
import { checkApkovl } from './apkovl-check.js';
import { checkBootFiles } from './boot-files-check.js';
import {
  BIOS_BOOT_TITLE,
  checkBiosBoot,
  compareIsoWithMedia,
  openIsoPartition,
  type IsoPartitionView,
} from './bios-boot-check.js';
import type { CardReader } from './card-reader.js';
import { makeCheck } from './checks.js';
import { checkDefinition, loadMachine, type LoadedMachine } from './definition-check.js';
import { checkFilesystem } from './filesystem-check.js';
import { checkFirstBoot } from './first-boot-check.js';
import { checkManifest, readManifest } from './manifest-check.js';
import { checkBootMedia } from './media-check.js';
import { compareWithMedia } from './media-compare.js';
import { cachedMedia, givenMedia, openLocatedMedia, type LocatedMedia } from './media-locate.js';
import { openVerifyMedium } from './medium.js';
import { checkPartition } from './partition-check.js';
import { checkRelease } from './release-check.js';
import { conclude } from './verdict.js';

export interface VerifyOptions {
  now: () => number;
  /** The tool that verifies, named in the report. */
  tool: { name: string; version: string };
  /** The download cache, where the card's boot media may be. */
  cache: ReleaseCache;
  /** The member time of generated overlays (SOURCE_DATE_EPOCH), as the build uses it; default 0. */
  sourceDateEpoch?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

const TITLES: Record<VerifyCheckId, string> = {
  partition: 'Partition table',
  filesystem: 'FAT32 file system',
  release: 'Alpine release',
  'boot-files': 'Boot files',
  'bios-boot': BIOS_BOOT_TITLE,
  manifest: 'Files against the manifest',
  apkovl: 'The apkovl',
  'boot-media': 'Boot files against the boot media',
  definition: 'The apkovl against the definition',
  'apk-cache': APK_CACHE_TITLE,
  'first-boot': 'First-boot report',
};

/**
 * Examine a card or card image: partition table, file system, every file against the manifest
 * and (when the media are given or cached) against the boot media, the release, the one apkovl
 * and its lint rules, the definition it should come from, and the machine's first-boot report.
 * Only input that cannot be used (a missing file, a definition with errors) throws; whatever is
 * wrong with the card is in the report.
 */
export async function verifyCard(request: VerifyRequest, options: VerifyOptions): Promise<VerifyReport> {
  const started = options.now();
  const machine = request.machine ? await loadMachine(request.machine) : null;
  const given = request.bootMedia === undefined ? null : await givenMedia(request.bootMedia);
  const givenHash = given === null ? null : hashFileInWorker(given.path, options.signal);
  givenHash?.catch(() => undefined); // awaited below; a failed verify must not leave it unhandled
  const medium = await openVerifyMedium(request.medium);
  const checks = new Map<VerifyCheckId, VerifyCheck>();
  const facts: CardFacts = {
    medium: { kind: request.medium.kind, path: request.medium.path, bytes: medium.size },
    partition: null,
    volume: null,
    alpineRelease: null,
    alpineVersion: null,
    branch: null,
    arch: null,
    board: null,
    apkovl: null,
    manifest: null,
    freeBytes: null,
  };
  const report: Examination['report'] = {
    card: facts,
    firstBoot: null,
    definition: null,
    bootMedia: null,
    tool: options.tool,
  };
  try {
    const partition = await checkPartition(medium);
    checks.set('partition', partition.check);
    facts.partition = partition.facts;
    let iso: IsoPartitionView | null = null;
    let openError: string | null = null;
    if (partition.mbr !== null) {
      try {
        iso = await openIsoPartition(medium, partition.mbr, options.signal);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        openError = error.message;
      }
    }
    const located: { media: LocatedMedia | null } = { media: null };
    if (partition.partition !== null) {
      const filesystem = await checkFilesystem(medium, partition.partition, options.signal);
      checks.set('filesystem', filesystem.check);
      facts.volume = filesystem.volume;
      facts.freeBytes = filesystem.freeBytes;
      if (filesystem.reader !== null) {
        await examineFiles(filesystem.reader, {
          checks,
          report,
          machine,
          given,
          givenHash,
          options,
          request,
          iso: iso?.reader ?? null,
          located,
        });
      }
    }
    if (partition.mbr !== null) {
      const media =
        iso !== null && located.media?.kind === 'iso'
          ? {
              ...(await compareIsoWithMedia(iso, located.media.path, options.signal)),
              name: path.basename(located.media.path),
            }
          : null;
      const bios = await checkBiosBoot(medium, partition.mbr, iso, openError, media);
      if (bios !== null) checks.set('bios-boot', bios);
    }
  } finally {
    await medium.close();
  }
  const ordered = verifyCheckIds.map((id) => checks.get(id) ?? skipped(id, request, checks, facts.board));
  const writtenBy = facts.manifest === null ? null : `${facts.manifest.tool.name} ${facts.manifest.tool.version}`;
  return {
    ...conclude(ordered, {
      writtenBy: writtenBy === null ? null : displayText(writtenBy),
      mediaCompared: report.bootMedia !== null,
    }),
    ...report,
    checks: ordered,
    seconds: (options.now() - started) / 1000,
  };
}

interface Examination {
  checks: Map<VerifyCheckId, VerifyCheck>;
  report: Omit<VerifyReport, 'verdict' | 'headline' | 'todo' | 'checks' | 'seconds'>;
  machine: LoadedMachine | null;
  given: LocatedMedia | null;
  givenHash: Promise<string> | null;
  options: VerifyOptions;
  request: VerifyRequest;
  /** The ISO partition of a BIOS+UEFI stick. */
  iso: CardReader | null;
  /** Set to the boot media found for the comparison. */
  located: { media: LocatedMedia | null };
}

/**
 * Everything that reads the card's files: the release, the boot files, the boot media (read in
 * step with the card, so each boot file is read once), every other file, the manifest, the
 * apkovl, the definition and the first-boot report.
 */
async function examineFiles(card: CardReader, examination: Examination): Promise<void> {
  const { checks, report, machine, given, givenHash, options, request, iso } = examination;
  const facts = report.card;
  const manifestRead = await readManifest(card);
  const manifest = manifestRead.state === 'read' ? manifestRead.manifest : null;
  if (manifest !== null) {
    const { tool, created, bootMedia, definition, files } = manifest;
    facts.manifest = { tool, created, bootMedia, definition, files: files.length };
  }
  const release = await checkRelease(card, manifest, iso);
  checks.set('release', release.check);
  Object.assign(facts, release.facts);
  checks.set('boot-files', await checkBootFiles(card, iso));

  const media = given ?? (await cachedMedia(options.cache, manifest, release.facts));
  examination.located.media = media;
  if (media !== null) {
    const result = await compareMedia(card, media, options, iso !== null);
    if (givenHash !== null) media.sha256 = await givenHash;
    const compared = await checkBootMedia(card, media, result, manifest);
    checks.set('boot-media', compared.check);
    report.bootMedia = compared.comparison;
  }
  await readEverything(card, options);
  checks.set('manifest', await checkManifest(card, manifestRead, facts.volume, report.bootMedia !== null));
  const apkovl = await checkApkovl(card, manifest);
  checks.set('apkovl', apkovl.check);
  facts.apkovl = apkovl.facts;
  if (machine !== null) {
    const compared = await checkDefinition(machine, apkovl, release.facts, manifest, {
      mtime: options.sourceDateEpoch ?? 0,
    });
    checks.set('definition', compared.check);
    report.definition = compared.comparison;
  }
  checks.set(
    'apk-cache',
    await checkApkCache({
      card,
      members: apkovl.members,
      arch: facts.arch,
      apkKeys: request.apkKeys ?? [],
      manifest,
      iso,
    }),
  );
  const firstBoot = await checkFirstBoot(card);
  checks.set('first-boot', firstBoot.check);
  report.firstBoot = firstBoot.firstBoot;
}

/** A check that did not run, and why. */
function skipped(
  id: VerifyCheckId,
  request: VerifyRequest,
  ran: Map<VerifyCheckId, VerifyCheck>,
  board: CardFacts['board'],
): VerifyCheck {
  const why = !ran.has('filesystem')
    ? 'the card has no partition that can be read'
    : !ran.has('release')
      ? 'the file system cannot be read'
      : id === 'bios-boot'
        ? board === 'rpi'
          ? 'a Raspberry Pi card: no BIOS boot'
          : board === 'x86_64-uefi'
            ? 'a UEFI-only stick: BIOS PCs do not boot it (target.board: x86_64 makes one that does)'
            : 'no ISO partition: only BIOS+UEFI x86 sticks have one'
        : id === 'boot-media'
          ? 'no boot media: give them with --boot-media (or fetch the release into the download cache)'
          : id === 'definition'
            ? request.machine === undefined
              ? 'no machine definition given (--machine)'
              : 'not run'
            : 'not run';
  return makeCheck(id, TITLES[id], { summary: why, skipped: true });
}

/** Compare every boot file with the media, with progress over the media's bytes. */
async function compareMedia(card: CardReader, media: LocatedMedia, options: VerifyOptions, hybridFat: boolean) {
  let meter: ProgressMeter | null = null;
  const source = await openLocatedMedia(
    media,
    {
      onRead: (bytes) => meter?.update(bytes),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    hybridFat,
  );
  if (options.onProgress) {
    meter = new ProgressMeter({
      phase: 'verify',
      label: `Comparing with ${path.basename(media.path)}`,
      total: source.size,
      listener: options.onProgress,
      now: options.now,
    });
  }
  const result = await compareWithMedia(card, source, options.signal);
  meter?.finish();
  return result;
}

/** Hash every file not hashed yet, with progress over their bytes. */
async function readEverything(card: CardReader, options: VerifyOptions): Promise<void> {
  const files = card.files.filter((file) => !file.isDirectory && !card.hasDigest(file));
  if (options.onProgress) {
    const meter = new ProgressMeter({
      phase: 'verify',
      label: 'Reading the card',
      total: files.reduce((sum, file) => sum + file.size, 0),
      listener: options.onProgress,
      now: options.now,
    });
    card.onRead = (bytes) => meter.advance(bytes);
    for (const file of files) await card.digest(file);
    card.onRead = null;
    meter.finish();
  } else {
    for (const file of files) await card.digest(file);
  }
}
