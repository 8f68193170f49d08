import { open, type FileHandle } from 'node:fs/promises';
import zlib from 'node:zlib';
import { AppError } from '../../../shared/errors.js';

/**
 * Where gzip data ends, and what follows it. The streaming readers inflate with Node's gunzip,
 * which reads concatenated members (as `gzip -d` does), stops silently at a zero byte after a
 * member, and fails with "incorrect header check" on anything else: it says neither where the
 * gzip data ended nor where the damage is. These checks answer that, after the fact and only
 * when something is wrong, by reading the compressed bytes again.
 *
 * What is accepted after the last member: nothing, or zeros up to the end of the file (padding,
 * as tape and block-device tools write; `gzip -d` accepts it too, with a warning). Anything else
 * is trailing data: the file was damaged, or something was appended to it.
 */

/** Random access to the compressed bytes. */
export interface ByteRange {
  size: number;
  /** Up to `length` bytes at `position` (fewer only at the end). */
  read(position: number, length: number): Promise<Uint8Array>;
}

export function bufferRange(data: Uint8Array): ByteRange {
  return {
    size: data.length,
    read: (position, length) => Promise.resolve(data.subarray(position, Math.min(data.length, position + length))),
  };
}

/** An open file as a byte range (its size as it is now). */
export async function fileRange(handle: FileHandle): Promise<ByteRange> {
  const size = (await handle.stat()).size;
  return {
    size,
    read: async (position, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      let done = 0;
      while (done < buffer.length) {
        const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
  };
}

/** Run `use` with the file at `path` as a byte range. */
export async function withFileRange<T>(path: string, use: (range: ByteRange) => Promise<T>): Promise<T> {
  const handle = await open(path, 'r');
  try {
    return await use(await fileRange(handle));
  } finally {
    await handle.close();
  }
}

const PIECE = 64 << 10;
/** Compressed bytes fed at a time when looking for damage: the precision of its offset. */
const PROBE_PIECE = 4 << 10;
/** Room for a gzip header: 10 bytes, an extra field of up to 64 KiB, a file name and a comment. */
const HEADER_WINDOW = 192 << 10;

/** The offset of the first byte in [from, end of range) that is not zero, or null. */
export async function firstNonZero(range: ByteRange, from: number): Promise<number | null> {
  for (let position = from; position < range.size; position += PIECE) {
    const piece = await range.read(position, PIECE);
    const index = piece.findIndex((byte) => byte !== 0);
    if (index !== -1) return position + index;
    if (piece.length === 0) break;
  }
  return null;
}

/** What follows the end of gzip data at `end` (as a gunzip reports it): null when nothing or only zeros. */
export async function trailingData(range: ByteRange, end: number): Promise<TrailingData | null> {
  if (end >= range.size) return null;
  const nonZero = await firstNonZero(range, end);
  return nonZero === null ? null : { kind: 'trailing-data', end, firstNonZero: nonZero, bytes: range.size - end };
}

export interface TrailingData {
  kind: 'trailing-data';
  /** Offset just past the last complete gzip member: where the trailing data starts. */
  end: number;
  /** The first byte that is not zero padding. */
  firstNonZero: number;
  /** Bytes from `end` to the end of the file. */
  bytes: number;
}

export type GzipProblem =
  | TrailingData
  | {
      kind: 'damaged';
      /** 1 for the first gzip member. */
      member: number;
      memberStart: number;
      /** The damage is within a few KiB after this offset; null when only the checksum tells. */
      near: number | null;
      message: string;
    }
  | { kind: 'truncated'; member: number; memberStart: number };

/** Length of the gzip header at the start of `bytes`; null if it is not one, 'short' if cut off. */
function headerLength(bytes: Uint8Array): number | null | 'short' {
  // What is there must be a header (magic, deflate, no reserved flags) even if it is cut off.
  const expected = [0x1f, 0x8b, 8];
  for (let index = 0; index < Math.min(3, bytes.length); index += 1) if (bytes[index] !== expected[index]) return null;
  if (bytes.length > 3 && ((bytes[3] as number) & 0xe0) !== 0) return null;
  if (bytes.length < 10) return 'short';
  const flags = bytes[3] as number;
  let at = 10;
  if (flags & 0x04) {
    if (at + 2 > bytes.length) return 'short';
    at += 2 + ((bytes[at] as number) | ((bytes[at + 1] as number) << 8));
  }
  for (const flag of [0x08, 0x10]) {
    if (flags & flag) {
      const zero = bytes.indexOf(0, at);
      if (zero === -1) return 'short';
      at = zero + 1;
    }
  }
  if (flags & 0x02) at += 2;
  return at > bytes.length ? 'short' : at;
}

type InflateEnd =
  | { kind: 'end'; end: number; crc: number; length: number }
  | { kind: 'error'; near: number; message: string }
  | { kind: 'short' };

/** Inflate (and discard) one raw deflate stream starting at `start`; where it ends, or where it breaks. */
async function inflateMember(range: ByteRange, start: number): Promise<InflateEnd> {
  const inflater = zlib.createInflateRaw();
  let crc = 0;
  let length = 0;
  inflater.on('data', (chunk: Buffer) => {
    crc = zlib.crc32(chunk, crc);
    length += chunk.length;
  });
  let failure: Error | null = null;
  let finished = false;
  let wake: (() => void) | null = null;
  inflater.on('error', (error: Error) => {
    failure ??= error;
    wake?.();
  });
  inflater.on('end', () => {
    finished = true;
    wake?.();
  });
  const settle = (begin: (done: () => void) => void) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      begin(resolve);
    });
  /** No more input: wait until the inflater has handed out everything (or failed). */
  const finish = () =>
    settle((done) => {
      inflater.end();
      if (finished || failure !== null) done();
    });
  const ended = () => ({ kind: 'end' as const, end: start + inflater.bytesWritten, crc, length });
  let fed = 0;
  try {
    for (let position = start; position < range.size; position += PROBE_PIECE) {
      const piece = await range.read(position, PROBE_PIECE);
      const consumedBefore = inflater.bytesWritten;
      await settle((done) => inflater.write(piece, () => done()));
      if (failure !== null) return { kind: 'error', near: start + consumedBefore, message: (failure as Error).message };
      fed += piece.length;
      // The deflate stream ended inside this piece: the inflater took less than it was given.
      if (inflater.bytesWritten < fed) {
        await finish();
        return ended();
      }
    }
    await finish();
    if (failure === null) return ended();
    return (failure as NodeJS.ErrnoException).code === 'Z_BUF_ERROR'
      ? { kind: 'short' }
      : { kind: 'error', near: start + inflater.bytesWritten, message: (failure as Error).message };
  } finally {
    inflater.destroy();
  }
}

/**
 * Walk the gzip members of `range` and say what is wrong: damage inside a member (near which
 * byte), a cut-off member, or data after the last member. Null when the gzip framing is sound.
 * It inflates everything again, so it is meant for after a failure.
 */
export async function findGzipProblem(range: ByteRange): Promise<GzipProblem | null> {
  let position = 0;
  for (let member = 1; ; member += 1) {
    if (member > 1) {
      if (position >= range.size) return null;
      const first = await range.read(position, 2);
      // Node's gunzip stops at a zero byte after a member; anything else must be another member.
      if (first[0] === 0) return trailingData(range, position);
      if (first[0] !== 0x1f || first[1] !== 0x8b) {
        return { kind: 'trailing-data', end: position, firstNonZero: position, bytes: range.size - position };
      }
    }
    const head = await range.read(position, HEADER_WINDOW);
    const length = headerLength(head);
    if (length === 'short' && head.length < HEADER_WINDOW) return { kind: 'truncated', member, memberStart: position };
    if (typeof length !== 'number') {
      if (member > 1)
        return { kind: 'trailing-data', end: position, firstNonZero: position, bytes: range.size - position };
      return { kind: 'damaged', member, memberStart: position, near: position, message: 'not a gzip header' };
    }
    const inflated = await inflateMember(range, position + length);
    if (inflated.kind === 'short') return { kind: 'truncated', member, memberStart: position };
    if (inflated.kind === 'error') {
      return { kind: 'damaged', member, memberStart: position, near: inflated.near, message: inflated.message };
    }
    // The trailer: CRC-32 and length (modulo 2^32) of the inflated data, 8 bytes.
    const trailer = Buffer.from(await range.read(inflated.end, 8));
    if (trailer.length < 8) return { kind: 'truncated', member, memberStart: position };
    if (trailer.readUInt32LE(0) !== inflated.crc >>> 0 || trailer.readUInt32LE(4) !== inflated.length % 2 ** 32) {
      return {
        kind: 'damaged',
        member,
        memberStart: position,
        near: null,
        message: 'the checksum of the inflated data does not match: it is damaged somewhere',
      };
    }
    position = inflated.end + 8;
  }
}

export interface GzipErrorContext {
  /** The file, for the location. */
  source: string;
  code: 'invalid-media' | 'invalid-input';
  /** What to do about a damaged file: download it again, pack it again. */
  again: string;
  /** What was being read when it failed (already safe to display), e.g. the last tar member. */
  context?: string;
  cause?: unknown;
}

/** Data after the end of the gzip data: the file was damaged, or something was appended to it. */
export function trailingDataError(trailing: TrailingData, context: GzipErrorContext): AppError {
  const zeros =
    trailing.firstNonZero > trailing.end
      ? ` (${trailing.firstNonZero - trailing.end} zero bytes, then other data from byte ${trailing.firstNonZero})`
      : '';
  const bytes = trailing.bytes === 1 ? '1 byte' : `${trailing.bytes} bytes`;
  return new AppError(
    context.code,
    `the file goes on after the end of its gzip data: ${bytes} from byte ${trailing.end} ${trailing.bytes === 1 ? 'is' : 'are'} neither gzip nor zero padding${zeros}`,
    {
      location: `${context.source}, byte ${trailing.end} of the file (the first byte after the gzip data)`,
      hint: `something was appended to the file, or it is damaged: ${context.again} (the gzip data alone is its first ${trailing.end} bytes: head -c ${trailing.end} FILE > FIXED)`,
    },
  );
}

/**
 * A gzip problem with its place in the compressed file. What was being read (`context`) is
 * said only for a truncated file: the inflater runs ahead of the reader, so at damage inside
 * the file the last member read is not where the damage is.
 */
export function gzipProblemError(problem: GzipProblem, context: GzipErrorContext): AppError {
  if (problem.kind === 'trailing-data') return trailingDataError(problem, context);
  const cause = context.cause === undefined ? {} : { cause: context.cause };
  if (problem.kind === 'truncated') {
    const member = problem.member > 1 ? ` (in gzip member ${problem.member}, from byte ${problem.memberStart})` : '';
    const reading = context.context === undefined ? '' : `, ${context.context}`;
    return new AppError(context.code, 'the gzip stream ends early: the file is truncated', {
      location: `${context.source}, at its end${member}${reading}`,
      hint: context.again,
      ...cause,
    });
  }
  const member = problem.member > 1 ? `gzip member ${problem.member}` : 'the gzip data';
  const where =
    problem.near === null
      ? `${member} from byte ${problem.memberStart} of the file`
      : `about byte ${problem.near} of the file${problem.member > 1 ? ` (in ${member}, from byte ${problem.memberStart})` : ''}`;
  return new AppError(context.code, `the gzip data is damaged (${problem.message})`, {
    location: `${context.source}, ${where}`,
    hint: context.again,
    ...cause,
  });
}

/** One gzip member read whole: where its header, deflate data and trailer are. */
export type GzipMemberEnd =
  | { kind: 'member'; start: number; end: number; inflatedLength: number }
  | Exclude<GzipProblem, TrailingData>
  | { kind: 'not-gzip'; start: number };

/**
 * Find exactly where the gzip member that starts at `start` ends (just past its 8-byte
 * trailer), checking its CRC and length; or say why it cannot be read. The member is inflated
 * (and discarded) a few KiB at a time.
 */
export async function gzipMemberEnd(range: ByteRange, start: number, member = 1): Promise<GzipMemberEnd> {
  const head = await range.read(start, HEADER_WINDOW);
  const length = headerLength(head);
  if (length === null) return { kind: 'not-gzip', start };
  if (length === 'short') {
    if (head.length < HEADER_WINDOW) return { kind: 'truncated', member, memberStart: start };
    return { kind: 'damaged', member, memberStart: start, near: start, message: 'the gzip header is too long' };
  }
  const inflated = await inflateMember(range, start + length);
  if (inflated.kind === 'short') return { kind: 'truncated', member, memberStart: start };
  if (inflated.kind === 'error')
    return { kind: 'damaged', member, memberStart: start, near: inflated.near, message: inflated.message };
  const trailer = Buffer.from(await range.read(inflated.end, 8));
  if (trailer.length < 8) return { kind: 'truncated', member, memberStart: start };
  if (trailer.readUInt32LE(0) !== inflated.crc >>> 0 || trailer.readUInt32LE(4) !== inflated.length % 2 ** 32) {
    return {
      kind: 'damaged',
      member,
      memberStart: start,
      near: null,
      message: 'the checksum of the inflated data does not match: it is damaged somewhere',
    };
  }
  return { kind: 'member', start, end: inflated.end + 8, inflatedLength: inflated.length };
}
