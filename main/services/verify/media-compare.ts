import { createHash } from 'node:crypto';
import { CancelledError } from '../../../shared/errors.js';
import { appendToCmdline, appendToGrubConfig } from '../boot-media/compose.js';
import { isApkovlName } from '../boot-media/media-path.js';
import type { MediaSource } from '../boot-media/media-source.js';
import type { MediaEntry } from '../image/media-entry.js';
import { ByteDifferences, type FileRange } from './byte-differences.js';
import type { CardFile, CardReader, FilePiece } from './card-reader.js';

/** A boot file the card does not hold as the media have it. */
export interface MediaDifference {
  /** The path in the media (as it goes onto the card). */
  path: string;
  kind: 'missing' | 'differs' | 'unreadable';
  /** The member's time in the media, Unix seconds. */
  mediaMtime: number;
  /** Where the card's file differs, in file offsets; empty for `missing`. */
  ranges: FileRange[];
  differingBytes: number;
  sizes: { card: number; media: number } | null;
  /** For `unreadable`: why. */
  reason: string | null;
}

export interface MediaCompareResult {
  filesCompared: number;
  bytesCompared: number;
  differences: MediaDifference[];
  /** Kernel command lines the card holds with parameters appended, as the builder does. */
  appended: { path: string; parameters: string[] }[];
  /** Links in the media: the card holds a copy of the target's data. */
  links: { path: string; target: string; mtime: number }[];
}

/** Files the builder changes on purpose: compared with the manifest, not byte for byte with the media. */
const COMMAND_LINES: Record<string, (original: string, parameters: readonly string[]) => string> = {
  'cmdline.txt': appendToCmdline,
  'boot/grub/grub.cfg': appendToGrubConfig,
};
const SMALL = 64 * 1024;

/** The parameters `card` has beyond `media`, when it is exactly the media's file with them appended. */
export function appendedParameters(path: string, media: string, card: string): string[] | null {
  const append = COMMAND_LINES[path];
  if (append === undefined) return null;
  const mediaLine = (path === 'cmdline.txt' ? media : (/^\s*linux\s.*$/m.exec(media)?.[0] ?? '')).trimEnd();
  const cardLine = (path === 'cmdline.txt' ? card : (/^\s*linux\s.*$/m.exec(card)?.[0] ?? '')).trimEnd();
  if (!cardLine.startsWith(`${mediaLine} `)) return null;
  const parameters = cardLine.slice(mediaLine.length).trim().split(/\s+/);
  try {
    return append(media, parameters) === card ? parameters : null;
  } catch {
    return null;
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/**
 * Compare every file of the boot media with the card, in one pass over the media: each member's
 * bytes against the card file's, read in step, so that a difference is found to the byte (and the
 * card file's SHA-256 is computed on the way). Members the builder leaves out (default apkovls)
 * are skipped; kernel command lines may carry appended parameters; usercfg.txt is the card's own.
 */
export async function compareWithMedia(
  card: CardReader,
  source: MediaSource,
  signal?: AbortSignal,
): Promise<MediaCompareResult> {
  const result: MediaCompareResult = { filesCompared: 0, bytesCompared: 0, differences: [], appended: [], links: [] };
  for await (const entry of source.entries()) {
    if (signal?.aborted) throw new CancelledError();
    const atRoot = !entry.path.includes('/');
    if (entry.kind === 'directory') {
      const folder = entry.path === '' ? null : card.find(entry.path);
      if (entry.path !== '' && (folder === null || !folder.isDirectory)) result.differences.push(missing(entry));
      continue;
    }
    if (entry.kind === 'link') {
      result.links.push({ path: entry.path, target: entry.target, mtime: entry.mtime });
      continue;
    }
    if (atRoot && (isApkovlName(entry.path) || entry.path.toLowerCase() === 'usercfg.txt')) continue;
    const file = card.find(entry.path);
    if (file === null || file.isDirectory) {
      result.differences.push(missing(entry));
      continue;
    }
    result.filesCompared += 1;
    result.bytesCompared += entry.size;
    if (file.unreadable !== null) {
      result.differences.push(unreadable(entry, file.unreadable));
      continue;
    }
    if (COMMAND_LINES[entry.path] !== undefined && entry.size <= SMALL && file.size <= SMALL) {
      await compareCommandLine(card, file, entry, result);
      continue;
    }
    const difference = await compareInStep(card, file, entry);
    if (difference !== null) result.differences.push(difference);
  }
  return result;
}

function missing(entry: MediaEntry): MediaDifference {
  const size = entry.kind === 'file' ? entry.size : 0;
  return {
    path: entry.path,
    kind: 'missing',
    mediaMtime: entry.mtime,
    ranges: [],
    differingBytes: size,
    sizes: null,
    reason: null,
  };
}

async function compareCommandLine(
  card: CardReader,
  file: CardFile,
  entry: Extract<MediaEntry, { kind: 'file' }>,
  result: MediaCompareResult,
): Promise<void> {
  const media = await collect(entry.body);
  let onCard: Buffer;
  try {
    onCard = (await card.readSmall(file, SMALL)) ?? Buffer.alloc(0);
  } catch (error) {
    result.differences.push(unreadable(entry, (error as Error).message));
    return;
  }
  if (media.equals(onCard)) return;
  const parameters = appendedParameters(entry.path, media.toString('utf8'), onCard.toString('utf8'));
  if (parameters !== null) {
    result.appended.push({ path: entry.path, parameters });
    return;
  }
  const differences = new ByteDifferences();
  const common = Math.min(media.length, onCard.length);
  differences.compare(media.subarray(0, common), onCard.subarray(0, common), 0);
  differences.unmatched(common, Math.max(media.length, onCard.length));
  result.differences.push(differs(entry, differences, file.size));
}

function unreadable(entry: MediaEntry, reason: string): MediaDifference {
  return { ...missing(entry), kind: 'unreadable', reason };
}

function differs(
  entry: Extract<MediaEntry, { kind: 'file' }>,
  differences: ByteDifferences,
  cardSize: number,
): MediaDifference {
  return {
    path: entry.path,
    kind: 'differs',
    mediaMtime: entry.mtime,
    ranges: differences.ranges,
    differingBytes: differences.differingBytes,
    sizes: cardSize === entry.size ? null : { card: cardSize, media: entry.size },
    reason: null,
  };
}

/** The member's bytes against the card file's, read side by side; the card file is hashed on the way. */
async function compareInStep(
  card: CardReader,
  file: CardFile,
  entry: Extract<MediaEntry, { kind: 'file' }>,
): Promise<MediaDifference | null> {
  const differences = new ByteDifferences();
  const hash = createHash('sha256');
  const pieces = card.data(file);
  let piece: FilePiece | null = null;
  let used = 0;
  let offset = 0;
  const nextPiece = async (): Promise<FilePiece | null> => {
    const next = await pieces.next();
    if (next.done === true) return null;
    hash.update(next.value.bytes);
    used = 0;
    return next.value;
  };
  try {
    for await (const chunk of entry.body) {
      let at = 0;
      while (at < chunk.length) {
        if (piece === null || used === piece.bytes.length) piece = await nextPiece();
        if (piece === null) break;
        const length = Math.min(chunk.length - at, piece.bytes.length - used);
        differences.compare(chunk.subarray(at, at + length), piece.bytes.subarray(used, used + length), offset);
        at += length;
        used += length;
        offset += length;
      }
    }
    // The card file may go on past the media's member: read (and hash) the rest.
    while ((await nextPiece()) !== null);
  } catch (error) {
    if (error instanceof CancelledError) throw error;
    await pieces.return(undefined);
    return unreadable(entry, (error as Error).message);
  }
  if (file.unreadable === null) card.recordDigest(file, hash.digest('hex'));
  differences.unmatched(Math.min(file.size, entry.size), Math.max(file.size, entry.size));
  return differences.found ? differs(entry, differences, file.size) : null;
}
