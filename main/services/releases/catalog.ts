import { parse } from 'yaml';
import { z } from 'zod';
import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';

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
}

/** The flavor and file suffix of the boot media a target boots from. */
export function mediaKind(wanted: ReleaseWanted): { flavor: string; suffix: string } {
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
