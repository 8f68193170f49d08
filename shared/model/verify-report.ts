import { z } from 'zod';

/**
 * What `apkovl verify` found on a card: the same report for the CLI (text or JSON), the app and
 * the privileged worker. A card with problems is a report, never an error: every problem says
 * what is wrong, which files, where on the medium, and what to do.
 *
 * Verdicts, worst first:
 * - `damaged`: bytes on the card are not what was written and nothing explains it (a file
 *   differs with its write time unchanged, a file is missing or unreadable), or the file system
 *   is inconsistent. Exit status 1.
 * - `faulty`: what is on the card reads back intact, but it will not boot as intended or is not
 *   what was asked about: two apkovls or none, an apkovl that fails the lint rules, an apkovl
 *   that is not what `--machine` produces, boot files that differ from `--boot-media`. Exit 1.
 * - `changed`: intact, with changes made on purpose since it was written: an apkovl saved by
 *   `lbu commit`, the machine's first-boot report, packages in the apk cache, files rewritten
 *   later. Exit 0.
 * - `good`: exactly as written (or, without a manifest, every check that could run passed). Exit 0.
 */
export const verifyVerdicts = ['good', 'changed', 'damaged', 'faulty'] as const;
export type VerifyVerdict = (typeof verifyVerdicts)[number];

export const verifyCheckIds = [
  'partition',
  'filesystem',
  'release',
  'boot-files',
  'bios-boot',
  'manifest',
  'apkovl',
  'boot-media',
  'definition',
  'apk-cache',
  'first-boot',
] as const;
export type VerifyCheckId = (typeof verifyCheckIds)[number];

/** Bytes `start` .. `end - 1` of the medium (the device or image file, not the partition). */
export const byteRangeSchema = z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() });
export type ByteRange = z.infer<typeof byteRangeSchema>;

export const verifyProblemSchema = z.object({
  /** `damage` and `fault` fail the card; a `warning` is worth knowing and fails nothing. */
  severity: z.enum(['damage', 'fault', 'warning']),
  /** One or two sentences; text read from the card is already escaped (displayText). */
  message: z.string(),
  /** Files and folders concerned, as paths on the card ("boot/vmlinuz-rpi"), as stored: escape them to show them. */
  paths: z.array(z.string()),
  /** Where on the medium. */
  ranges: z.array(byteRangeSchema),
  /** What to do about it. */
  hint: z.string().nullable(),
});
export type VerifyProblem = z.infer<typeof verifyProblemSchema>;

/** A difference from what was written that was made on purpose (lbu commit, the machine's report). */
export const verifyChangeSchema = z.object({ message: z.string(), paths: z.array(z.string()) });
export type VerifyChange = z.infer<typeof verifyChangeSchema>;

export const verifyCheckSchema = z.object({
  id: z.enum(verifyCheckIds),
  title: z.string(),
  /** `failed`: some problem is damage or a fault; `warning`: only warnings; `skipped`: could not or need not run. */
  status: z.enum(['ok', 'warning', 'failed', 'skipped']),
  /** One line: what was checked and how it went. */
  summary: z.string(),
  /** Further lines for a person. */
  details: z.array(z.string()),
  problems: z.array(verifyProblemSchema),
  changes: z.array(verifyChangeSchema),
});
export type VerifyCheck = z.infer<typeof verifyCheckSchema>;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const cardFactsSchema = z.object({
  medium: z.object({ kind: z.enum(['image', 'device']), path: z.string(), bytes: z.number() }),
  /** The partition read: its number in the MBR (1-4), type, place and size. */
  partition: z
    .object({
      number: z.number().int(),
      type: z.number().int(),
      startByte: z.number(),
      bytes: z.number(),
      bootable: z.boolean(),
    })
    .nullable(),
  volume: z
    .object({
      label: z.string().nullable(),
      /** `XXXX-XXXX`, as the manifest and `blkid` write it. */
      serial: z.string(),
      clusterSize: z.number(),
      clusters: z.number(),
    })
    .nullable(),
  /** `.alpine-release`, e.g. "alpine-rpi-3.22.2 251009", and what it says. */
  alpineRelease: z.string().nullable(),
  alpineVersion: z.string().nullable(),
  branch: z.string().nullable(),
  /** From the `apks/<arch>/` folder. */
  arch: z.string().nullable(),
  board: z.enum(['rpi', 'x86_64', 'x86_64-uefi']).nullable(),
  apkovl: z
    .object({
      name: z.string(),
      hostname: z.string().nullable(),
      bytes: z.number(),
      /** Null when it could not be read. */
      members: z.number().nullable(),
      sha256,
      /** Its write time on the card (ISO 8601, as the FAT entry says). */
      modified: z.string(),
    })
    .nullable(),
  /** The card's manifest (apkovl-studio.json), or null when there is none. */
  manifest: z
    .object({
      tool: z.object({ name: z.string(), version: z.string() }),
      created: z.string(),
      bootMedia: z.object({ file: z.string(), sha256: sha256.nullable() }),
      definition: z.object({ file: z.string(), sha256 }).nullable(),
      files: z.number(),
    })
    .nullable(),
  freeBytes: z.number().nullable(),
});
export type CardFacts = z.infer<typeof cardFactsSchema>;

export const memberDifferenceSchema = z.object({
  /** The member's path in the apkovl ("etc/hostname"), as stored: escape it to show it. */
  path: z.string(),
  how: z.enum(['content', 'mode', 'owner', 'type', 'missing', 'extra']),
  /** For a person: "0644 on the card, 0600 from the definition". Never file contents. */
  detail: z.string(),
});
export type MemberDifference = z.infer<typeof memberDifferenceSchema>;

export const definitionComparisonSchema = z.object({
  file: z.string(),
  /** The apkovl on the card is exactly what the definition produces, member for member. */
  identical: z.boolean(),
  /** The archives are byte for byte the same (not only their members). */
  sameBytes: z.boolean(),
  /** Whether the manifest names this very definition file (by hash); null without one. */
  sameDefinitionFile: z.boolean().nullable(),
  /** Whether the card was written with exactly this definition's apkovl (by the manifest's hash). */
  writtenFromIt: z.boolean().nullable(),
  expected: z.object({ name: z.string(), sha256, members: z.number() }),
  differences: z.array(memberDifferenceSchema),
});
export type DefinitionComparison = z.infer<typeof definitionComparisonSchema>;

export const mediaComparisonSchema = z.object({
  file: z.string(),
  source: z.enum(['given', 'cache']),
  sha256: sha256.nullable(),
  /** Whether these are the media the manifest says the card was written from; null without one. */
  sameAsWritten: z.boolean().nullable(),
  filesCompared: z.number(),
  bytesCompared: z.number(),
});
export type MediaComparison = z.infer<typeof mediaComparisonSchema>;

export const verifyReportSchema = z.object({
  verdict: z.enum(verifyVerdicts),
  /** The verdict in one sentence. */
  headline: z.string(),
  card: cardFactsSchema,
  checks: z.array(verifyCheckSchema),
  /** The first-boot report (apkovl-report.json) in a few lines, when the card has one. */
  firstBoot: z.object({ reportedAt: z.string().nullable(), lines: z.array(z.string()) }).nullable(),
  definition: definitionComparisonSchema.nullable(),
  bootMedia: mediaComparisonSchema.nullable(),
  /** What to do, most important first. */
  todo: z.array(z.string()),
  /** The tool that verified. */
  tool: z.object({ name: z.string(), version: z.string() }),
  seconds: z.number(),
});
export type VerifyReport = z.infer<typeof verifyReportSchema>;

/** Exit status of `apkovl verify` for a verdict: 0 for a card that is fine, 1 for one that is not. */
/** Also written out in main/cli/commands/verify.ts, which does not load this module at start. */
export function verdictExitCode(verdict: VerifyVerdict): 0 | 1 {
  return verdict === 'good' || verdict === 'changed' ? 0 : 1;
}
