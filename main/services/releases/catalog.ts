import { parse } from 'yaml';
import { z } from 'zod';
import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';
import { boardArchitectures } from '../../../shared/model/targets.js';

/**
 * Alpine's release index: `<mirror>/<branch>/releases/<arch>/latest-releases.yaml`, a YAML list
 * written by aports' mkimage-yaml.sh. One entry per file; the flavor is not unique (alpine-rpi
 * has a .tar.gz and an .img.gz), so a file is chosen by flavor and suffix.
 */

const entrySchema = z.looseObject({
  title: z.string().optional(),
  branch: z.string(),
  arch: z.string(),
  version: z.union([z.string(), z.number()]).transform(String),
  flavor: z.string(),
  file: z.string().regex(/^[A-Za-z0-9._+-]+$/, 'a bare file name'),
  date: z
    .union([z.string(), z.date()])
    .optional()
    .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value)),
  size: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface Release {
  branch: string;
  arch: string;
  version: string;
  flavor: string;
  file: string;
  date: string | null;
  size: number;
  sha256: string;
}

export function parseCatalog(text: string, source: string): Release[] {
  let document: unknown;
  try {
    document = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new AppError(
      'invalid-media',
      `the release index is not valid YAML (${(error as Error).message.split('\n')[0] ?? ''})`,
      { location: source, cause: error },
    );
  }
  if (!Array.isArray(document))
    throw new AppError('invalid-media', 'the release index is not a list of releases', { location: source });
  return document.map((item, index) => {
    const parsed = entrySchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError(
        'invalid-media',
        `entry ${index} of the release index is malformed: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
        { location: source },
      );
    }
    const { branch, arch, version, flavor, file, date, size, sha256 } = parsed.data;
    return { branch, arch, version, flavor, file, date: date ?? null, size, sha256 };
  });
}

export type Board = Machine['target']['board'];

export interface ReleaseWanted {
  board: Board;
  arch: string;
  /** x86 ISO flavor: standard, extended, virt. */
  flavor?: string;
  /**
   * netboot: Alpine's netboot tarball of the arch (alpine-netboot-<ver>-<arch>.tar.gz: boot/ with
   * vmlinuz, initramfs and modloop for lts and virt), whatever the board; else the card's media.
   */
  media?: 'card' | 'netboot';
}

/** The flavor and file suffix of the boot media a target boots from. */
export function mediaKind(wanted: ReleaseWanted): { flavor: string; suffix: string } {
  if (wanted.media === 'netboot') return { flavor: 'alpine-netboot', suffix: '.tar.gz' };
  if (wanted.board === 'rpi') return { flavor: 'alpine-rpi', suffix: '.tar.gz' };
  return { flavor: `alpine-${wanted.flavor ?? 'standard'}`, suffix: '.iso' };
}

/** The release file for a target among the index entries, or a clear error. */
export function pickRelease(releases: Release[], wanted: ReleaseWanted, source: string): Release {
  const { flavor, suffix } = mediaKind(wanted);
  const found = releases.find(
    (release) => release.flavor === flavor && release.arch === wanted.arch && release.file.endsWith(suffix),
  );
  if (found === undefined) {
    const offered = releases.map((release) => release.file).join(', ') || 'nothing';
    throw new AppError('not-found', `the release index has no ${flavor} ${suffix} for ${wanted.arch}`, {
      location: source,
      hint: `it lists ${offered}`,
    });
  }
  return found;
}

/** The file name of a release that is not the latest of its branch (pinned by version). */
export function releaseFileName(wanted: ReleaseWanted, version: string): string {
  const { flavor, suffix } = mediaKind(wanted);
  return `${flavor}-${version}-${wanted.arch}${suffix}`;
}

/** v3.22 for 3.22.2. */
export function branchOf(version: string): string {
  const [major, minor] = version.split('.');
  return `v${major}.${minor}`;
}

/** Branches as Alpine's mirrors name them (the same rule as `alpine.branch` in a definition). */
export const BRANCH_PATTERN = /^(latest-stable|edge|v\d+\.\d+)$/;
/** An exact release (the same rule as `alpine.version`). */
export const VERSION_PATTERN = /^\d+\.\d+\.\d+(_rc\d+)?$/;

/**
 * Check what is asked for before any network access: a board with an architecture it boots, a
 * branch and a version of the right form. A bad value is a usage error (exit 2) that lists the
 * valid choices.
 */
export function checkReleaseQuery(query: { board?: Board; arch: string; branch?: string; version?: string }): void {
  if (query.board !== undefined) {
    const valid = boardArchitectures[query.board] as readonly string[] | undefined;
    if (valid !== undefined && !valid.includes(query.arch)) {
      const other = (Object.keys(boardArchitectures) as Board[]).filter((board) =>
        (boardArchitectures[board] as readonly string[]).includes(query.arch),
      );
      throw new AppError('usage', `the ${query.board} board does not boot ${query.arch}`, {
        location: '--arch',
        hint:
          `${query.board} takes --arch ${valid.join(', ')}` +
          (other.length > 0 ? `; ${query.arch} is for --board ${other.join(', ')}` : ''),
      });
    }
  }
  if (query.branch !== undefined && !BRANCH_PATTERN.test(query.branch)) {
    throw new AppError('usage', `"${query.branch}" is not a branch name`, {
      location: '--branch',
      hint: 'use latest-stable, edge, or a release branch such as v3.22 (apkovl releases --branch v3.22 lists one)',
    });
  }
  if (query.version !== undefined && !VERSION_PATTERN.test(query.version)) {
    throw new AppError('usage', `"${query.version}" is not an exact release`, {
      location: '--version',
      hint: 'use a version such as 3.22.2 (or --branch v3.22 for the newest of a branch)',
    });
  }
}

/** Order of release versions: 3.22.10 after 3.22.2, 3.23.0_rc1 before 3.23.0. Negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => {
    const [main = '', rc] = version.split('_rc');
    return { numbers: main.split('.').map(Number), rc: rc === undefined ? Number.POSITIVE_INFINITY : Number(rc) };
  };
  const left = parts(a);
  const right = parts(b);
  for (let index = 0; index < Math.max(left.numbers.length, right.numbers.length); index += 1) {
    const difference = (left.numbers[index] ?? 0) - (right.numbers[index] ?? 0);
    if (Number.isNaN(difference)) return a.localeCompare(b);
    if (difference !== 0) return difference;
  }
  return left.rc === right.rc ? 0 : left.rc < right.rc ? -1 : 1;
}
