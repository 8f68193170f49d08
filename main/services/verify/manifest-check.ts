import {
  CARD_MANIFEST_NAME,
  cardManifestSchema,
  type CardManifest,
  type ManifestFile,
} from '../../../shared/model/card-manifest.js';
import type { CardFacts, VerifyChange, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import type { CardFile, CardReader } from './card-reader.js';
import {
  isApkCacheFile,
  isFirstBootReport,
  isFsckRecovery,
  isLbuBackup,
  isManifest,
  isRootApkovl,
} from './card-paths.js';
import { change, count, makeCheck, problem, showList, showTime } from './checks.js';

const TITLE = 'Files against the manifest';
const MAX_MANIFEST_BYTES = 16 << 20;
export const REWRITE_HINT =
  'write the card again (apkovl build); if files are damaged again, the card is failing: replace it';

export type ManifestRead =
  { state: 'missing' } | { state: 'damaged'; problem: VerifyProblem } | { state: 'read'; manifest: CardManifest };

/** The card's manifest (apkovl-studio.json), checked against its schema. */
export async function readManifest(card: CardReader): Promise<ManifestRead> {
  const file = card.find(CARD_MANIFEST_NAME);
  if (file === null || file.isDirectory) return { state: 'missing' };
  const damaged = (message: string): ManifestRead => ({
    state: 'damaged',
    problem: problem('damage', `the manifest ${CARD_MANIFEST_NAME} is damaged: ${message}`, {
      paths: [file.path],
      ranges: card.ranges(file),
      hint: REWRITE_HINT,
    }),
  });
  let data: Buffer | null;
  try {
    data = await card.readSmall(file, MAX_MANIFEST_BYTES);
  } catch (error) {
    return damaged((error as Error).message);
  }
  if (data === null) return damaged(`it is ${file.size} bytes, more than a manifest can be`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return damaged(`it is not JSON (${(error as Error).message})`);
  }
  const parsed = cardManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return damaged(`it does not fit its format (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  return { state: 'read', manifest: parsed.data };
}

/**
 * A file that is not what was written. Rewritten later (its write time moved on): a change made
 * on purpose. Same write time, other bytes: damage, since nothing rewrites a file without
 * setting its time.
 */
export function classifyDifference(
  card: CardReader,
  file: CardFile,
  writtenMtime: number,
): { problem: VerifyProblem | null; change: VerifyChange | null } {
  if (file.mtime > writtenMtime) {
    return {
      problem: null,
      change: change(`${displayText(file.path)} was rewritten on ${showTime(file.mtime)}, after the card was written`, [
        file.path,
      ]),
    };
  }
  return {
    problem: problem(
      'damage',
      `${displayText(file.path)} is not what was written, and its write time did not change: the data changed on the card`,
      { paths: [file.path], ranges: card.ranges(file), hint: REWRITE_HINT },
    ),
    change: null,
  };
}

/** Every file the manifest lists, by size and SHA-256; and what the card holds beyond them. */
export async function checkManifest(
  card: CardReader,
  read: ManifestRead,
  volume: CardFacts['volume'],
  mediaCompared: boolean,
): Promise<VerifyCheck> {
  if (read.state === 'missing') {
    return makeCheck('manifest', TITLE, {
      summary: `no manifest (${CARD_MANIFEST_NAME})`,
      problems: [
        problem(
          'warning',
          `the card has no manifest (${CARD_MANIFEST_NAME}): it was not written by Apkovl Studio, or the manifest was removed; files can be checked only against the boot media`,
          mediaCompared ? {} : { hint: 'give the boot media (--boot-media) to compare every boot file' },
        ),
      ],
    });
  }
  if (read.state === 'damaged') {
    return makeCheck('manifest', TITLE, { summary: 'the manifest is damaged', problems: [read.problem] });
  }
  const manifest = read.manifest;
  const problems: VerifyProblem[] = [];
  const changes: VerifyChange[] = [];
  let matching = 0;
  const listed = new Set<CardFile>();
  // Link copies are among the files, with the hash of the file each resolves to.
  const compare = async (entry: ManifestFile) => {
    const file = card.find(entry.path);
    if (file !== null) listed.add(file);
    if (file === null || file.isDirectory) {
      problems.push(
        problem('damage', `${displayText(entry.path)} is missing`, { paths: [entry.path], hint: REWRITE_HINT }),
      );
      return;
    }
    const digest = await card.digest(file);
    if (!digest.ok) {
      problems.push(
        problem('damage', `${displayText(file.path)} cannot be read: ${digest.message}`, {
          paths: [file.path],
          ranges: digest.ranges,
          hint: REWRITE_HINT,
        }),
      );
      return;
    }
    if (file.size === entry.size && digest.sha256 === entry.sha256) {
      matching += 1;
      return;
    }
    const found = classifyDifference(card, file, entry.mtime);
    if (found.problem !== null) problems.push(found.problem);
    if (found.change !== null) changes.push(found.change);
  };
  for (const entry of manifest.files) {
    if (entry.path === manifest.apkovl?.path) continue;
    await compare(entry);
  }
  changes.push(...extraFiles(card, listed, problems));
  if (volume !== null && volume.serial !== manifest.volume.serial) {
    problems.push(
      problem(
        'warning',
        `the volume serial is ${volume.serial}, but the card was written with ${displayText(manifest.volume.serial)}: the file system was made again since (formatted, the files copied back?)`,
        { hint: 'if the card was not copied on purpose, write it again' },
      ),
    );
  }
  return makeCheck('manifest', TITLE, {
    summary: `${matching} of ${count(manifest.files.length - (manifest.apkovl ? 1 : 0), 'file')} as written${manifest.apkovl ? ' (the apkovl is checked below)' : ''}`,
    details: [
      `written by ${displayText(manifest.tool.name)} ${displayText(manifest.tool.version)} from ${displayText(manifest.bootMedia.file)}`,
      ...(manifest.definition === null ? [] : [`apkovl generated from ${displayText(manifest.definition.file)}`]),
    ],
    problems,
    changes,
  });
}

/** Files the manifest does not list: what the machine writes, and what someone added. */
function extraFiles(card: CardReader, listed: Set<CardFile>, problems: VerifyProblem[]): VerifyChange[] {
  const cache: string[] = [];
  const added: string[] = [];
  const changes: VerifyChange[] = [];
  for (const file of card.files) {
    if (file.isDirectory || listed.has(file) || isManifest(file.path) || isRootApkovl(file.path)) continue;
    if (isFirstBootReport(file.path)) continue; // the first-boot check tells about it
    if (isApkCacheFile(file.path)) cache.push(file.path);
    else if (isLbuBackup(file.path)) {
      changes.push(change(`lbu commit kept ${displayText(file.path)}, a backup of an earlier apkovl`, [file.path]));
    } else if (isFsckRecovery(file.path)) {
      problems.push(
        problem(
          'warning',
          `fsck.fat saved data it found in no file as ${displayText(file.path)}: the file system was damaged and repaired`,
          { paths: [file.path], hint: 'if a file seems incomplete, write the card again' },
        ),
      );
    } else added.push(file.path);
  }
  if (cache.length > 0) {
    changes.push(change(`${count(cache.length, 'file')} in the apk cache (cache/), downloaded by the machine`, cache));
  }
  if (added.length > 0) {
    changes.push(
      change(
        `${count(added.length, 'file')} added after the card was written: ${showList(added.map(displayText))}`,
        added,
      ),
    );
  }
  return changes;
}
