import path from 'node:path';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type {
  ByteRange,
  MediaComparison,
  VerifyChange,
  VerifyCheck,
  VerifyProblem,
} from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { fatTimestamp, fromFatTimestamp } from '../image/fat-directory.js';
import type { CardReader } from './card-reader.js';
import { change, count, makeCheck, problem, showList, showTime } from './checks.js';
import type { MediaCompareResult, MediaDifference } from './media-compare.js';
import type { LocatedMedia } from './media-locate.js';
import { REWRITE_HINT } from './manifest-check.js';

const TITLE = 'Boot files against the boot media';
/** Damaged files get a problem each, with their byte ranges, up to this many. */
const MAX_ITEMIZED = 20;

/** A time as a FAT entry stores it (even seconds): what the card holds for a file written unchanged. */
function fatTime(seconds: number): number {
  const { date, time } = fatTimestamp(seconds);
  return fromFatTimestamp(date, time);
}

function showDifference(difference: MediaDifference): string {
  const first = difference.ranges[0];
  const where = first === undefined ? '' : `, from byte ${first.start} of the file`;
  const sizes =
    difference.sizes === null
      ? ''
      : ` (${difference.sizes.card} bytes on the card, ${difference.sizes.media} in the media)`;
  return `${count(difference.differingBytes, 'byte')} ${difference.differingBytes === 1 ? 'differs' : 'differ'}${where}${sizes}`;
}

/**
 * What the comparison with the media means. A file that differs is damage when its write time
 * is the media's (nothing rewrote it); a change when it was rewritten later; and when the card
 * holds exactly what its manifest says was written, the media are not the ones it was written
 * from (a fault only because these media were asked about).
 */
export async function checkBootMedia(
  card: CardReader,
  media: LocatedMedia,
  result: MediaCompareResult,
  manifest: CardManifest | null,
): Promise<{ check: VerifyCheck; comparison: MediaComparison }> {
  const problems: VerifyProblem[] = [];
  const changes: VerifyChange[] = [];
  const otherMedia: string[] = [];
  const damaged: { path: string; message: string; ranges: ByteRange[] }[] = [];
  const written = (file: string) => manifest?.files.find((entry) => entry.path === file) ?? null;

  const differences: MediaDifference[] = [...result.differences];
  for (const link of result.links) {
    const copy = card.find(link.path);
    const target = card.find(link.target);
    if (target?.isDirectory === true) continue;
    const expected = target === null ? null : await card.digest(target);
    const actual = copy === null ? null : await card.digest(copy);
    if (copy === null)
      differences.push({
        path: link.path,
        kind: 'missing',
        mediaMtime: link.mtime,
        ranges: [],
        differingBytes: 0,
        sizes: null,
        reason: null,
      });
    else if (expected?.ok !== true || actual?.ok !== true || expected.sha256 !== actual.sha256) {
      differences.push({
        path: link.path,
        kind: 'differs',
        mediaMtime: link.mtime,
        ranges: [{ start: 0, end: copy.size }],
        differingBytes: copy.size,
        sizes: null,
        reason: null,
      });
    }
  }

  for (const difference of differences) {
    const name = displayText(difference.path);
    const file = card.find(difference.path);
    const entry = written(difference.path);
    if (difference.kind === 'missing' || file === null) {
      if (entry !== null)
        damaged.push({
          path: difference.path,
          message: `${name} is missing (the card was written with it)`,
          ranges: [],
        });
      else otherMedia.push(difference.path);
      continue;
    }
    if (difference.kind === 'unreadable') {
      damaged.push({
        path: file.path,
        message: `${name} cannot be read: ${displayText(difference.reason ?? '')}`,
        ranges: card.ranges(file),
      });
      continue;
    }
    const digest = await card.digest(file);
    if (entry !== null && digest.ok && digest.sha256 === entry.sha256 && file.size === entry.size) {
      otherMedia.push(difference.path);
    } else if (file.mtime > fatTime(difference.mediaMtime)) {
      changes.push(
        change(`${name} differs from the boot media: it was rewritten on ${showTime(file.mtime)}`, [file.path]),
      );
    } else {
      damaged.push({
        path: file.path,
        message: `${name} differs from the boot media, and its write time is the media's: ${showDifference(difference)}`,
        ranges: difference.ranges.flatMap((range) => card.rangesOf(file, range.start, Math.min(range.end, file.size))),
      });
    }
  }

  for (const each of damaged.slice(0, MAX_ITEMIZED)) {
    problems.push(problem('damage', each.message, { paths: [each.path], ranges: each.ranges, hint: REWRITE_HINT }));
  }
  const rest = damaged.slice(MAX_ITEMIZED);
  if (rest.length > 0) {
    problems.push(
      problem(
        'damage',
        `${count(rest.length, 'more file')} differ from the boot media: ${showList(rest.map((each) => displayText(each.path)))}`,
        {
          paths: rest.map((each) => each.path),
          ranges: rest.flatMap((each) => each.ranges),
          hint: REWRITE_HINT,
        },
      ),
    );
  }
  const mediaName = path.basename(media.path);
  if (otherMedia.length > 0) {
    const writtenFrom =
      manifest === null ? '' : ` (the manifest says it was written from ${displayText(manifest.bootMedia.file)})`;
    problems.push(
      problem(
        'fault',
        `${count(otherMedia.length, 'boot file')} ${otherMedia.length === 1 ? 'is' : 'are'} not as in ${displayText(mediaName)}: ${showList(otherMedia.map(displayText))}; the card holds other boot media${writtenFrom}`,
        {
          paths: otherMedia,
          hint: `compare with the media the card was written from, or write the card again from ${mediaName}`,
        },
      ),
    );
  }

  const sameAsWritten =
    manifest?.bootMedia.sha256 && media.sha256 !== null ? manifest.bootMedia.sha256 === media.sha256 : null;
  const details = result.appended.map(
    (each) => `${each.path}: the media's, with ${each.parameters.map(displayText).join(' ')} appended`,
  );
  if (sameAsWritten === false)
    details.push(`these are not the media the card was written from (${displayText(manifest?.bootMedia.file ?? '')})`);
  if (sameAsWritten === true) details.push('these are the very media the card was written from');
  const differing = differences.length;
  return {
    check: makeCheck('boot-media', TITLE, {
      summary: `${count(result.filesCompared, 'file')} compared with ${displayText(mediaName)}${media.source === 'cache' ? ' (from the download cache)' : ''}${differing === 0 ? ': all as in the media' : `: ${differing} ${differing === 1 ? 'differs' : 'differ'}`}`,
      details,
      problems,
      changes,
    }),
    comparison: {
      file: media.path,
      source: media.source,
      sha256: media.sha256,
      sameAsWritten,
      filesCompared: result.filesCompared,
      bytesCompared: result.bytesCompared,
    },
  };
}
