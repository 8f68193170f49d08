import { promises as fs } from 'node:fs';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { MediaEntry } from '../image/media-entry.js';
import { normalizeMemberName, resolveSymlinkTarget } from './media-path.js';
import type { MediaSource, MediaSourceOptions } from './media-source.js';
import { LendingCorruptionError, LendingGunzip } from './lending-gunzip.js';
import { TarFormatError, TarReader, type TarMember } from './tar-reader.js';
import { findGzipProblem, gzipProblemError, trailingData, trailingDataError, withFileRange } from './gzip-end.js';
import { displayText } from '../../../shared/rules/display.js';

/** The fingerprint of a tarball is its gzip trailer: the CRC-32 and length of the whole tar. */
export type TarballSource = MediaSource;
export type TarballOptions = MediaSourceOptions;

const READ_CHUNK = 1 << 20;
/** Compressed bytes handed to the inflater at a time: it holds back between pieces. */
const FEED_PIECE = 256 << 10;

/**
 * Feed the compressed file into the inflater through two reused read buffers, reading the
 * next one while the inflater works on the other. (A read stream would allocate a fresh
 * buffer per read, and on a 100 MB tarball the page faults cost more than the inflating.)
 */
async function feedFile(path: string, sink: LendingGunzip, options: TarballOptions): Promise<void> {
  const handle = await fs.open(path, 'r');
  const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
  let reading = handle.read(buffers[0] as Buffer, 0, READ_CHUNK, 0);
  try {
    let position = 0;
    for (let index = 0; ; index ^= 1) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      position += bytesRead;
      options.onRead?.(position);
      reading = handle.read(buffers[index ^ 1] as Buffer, 0, READ_CHUNK, position);
      const buffer = buffers[index] as Buffer;
      for (let offset = 0; offset < bytesRead; offset += FEED_PIECE) {
        if (options.signal?.aborted) {
          sink.destroy(new CancelledError());
          return;
        }
        // False: the reader stopped (done early, refused a member, failed).
        if (!(await sink.write(buffer.subarray(offset, Math.min(bytesRead, offset + FEED_PIECE))))) return;
      }
    }
    sink.end();
  } finally {
    await reading.catch(() => undefined);
    await handle.close();
  }
}

interface ReadState {
  lastMember: string | null;
  readonly tarBytes: number;
}

const DOWNLOAD_AGAIN = 'download the boot media again';

function memberLocation(source: string, member: TarMember): string {
  return `${source}, member "${displayText(member.name)}" (byte ${member.offset} of the unpacked tar)`;
}

function afterMember(state: ReadState): string {
  return state.lastMember === null
    ? 'before the first member'
    : `in or after the member "${displayText(state.lastMember)}"`;
}

/** A clear error for a failure of the tar reader or the inflater. */
function describeFailure(source: string, error: unknown, state: ReadState): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof LendingCorruptionError) {
    return new AppError('internal', error.message, { location: source, cause: error });
  }
  const after = afterMember(state);
  if (error instanceof TarFormatError) {
    const where = `${source}, ${after} (byte ${error.offset} of the unpacked tar)`;
    const message =
      error.kind === 'truncated'
        ? `the tar archive ends in the middle of a member (${error.message})`
        : `a tar header is corrupt (${error.message})`;
    return new AppError('invalid-media', message, { location: where, hint: DOWNLOAD_AGAIN, cause: error });
  }
  const where = `${source}, ${after} (about byte ${state.tarBytes} of the unpacked tar)`;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(message)) {
    return new AppError('invalid-media', 'the gzip stream ends early: the file is truncated', {
      location: where,
      hint: DOWNLOAD_AGAIN,
      cause: error,
    });
  }
  if (code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR') {
    return new AppError('invalid-media', `the file is not valid gzip (${message})`, {
      location: where,
      hint: 'use the .tar.gz boot media from an Alpine mirror, unchanged',
      cause: error,
    });
  }
  return new AppError('io', `cannot read the boot media: ${message}`, { location: where, cause: error });
}

/**
 * `describeFailure`, and for an inflater's complaint about the data, where in the compressed
 * file the problem is (found by reading it again: this happens only on failure).
 */
async function describeFailureInFile(source: string, error: unknown, state: ReadState): Promise<AppError> {
  const described = describeFailure(source, error, state);
  const code = (error as { code?: string } | null)?.code;
  if (described.code !== 'invalid-media' || (code !== 'Z_DATA_ERROR' && code !== 'Z_BUF_ERROR')) return described;
  const problem = await withFileRange(source, findGzipProblem).catch(() => null);
  if (problem === null) return described;
  return gzipProblemError(problem, {
    source,
    code: 'invalid-media',
    again: DOWNLOAD_AGAIN,
    context: `${afterMember(state)} (about byte ${state.tarBytes} of the unpacked tar)`,
    cause: error,
  });
}

/**
 * A member's data as lent views (valid until the next one is asked for), with stream errors
 * turned into clear ones. A plain iterator: it sits on the path of every chunk.
 */
function memberBody(
  reader: TarReader,
  isCurrent: () => boolean,
  describe: (error: unknown) => Promise<AppError>,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (!isCurrent()) throw new Error('bug: a member body was read after the next member was asked for');
          try {
            const view = await reader.read();
            return view === null ? { done: true, value: undefined } : { done: false, value: view };
          } catch (error) {
            throw await describe(error);
          }
        },
      };
    },
  };
}

/**
 * The bytes the card got must be the bytes the gzip trailer describes (CRC-32 and length modulo
 * 2^32). zlib checks its own output against the trailer; this checks what reached the card
 * writer. A file of several gzip members has the last member's trailer only: the length tells,
 * and LendingGunzip's own delivered-versus-received check covers that case.
 */
export function checkTrailer(received: { crc32: number; bytes: number }, trailer: Buffer, source: string): void {
  const crc32 = trailer.readUInt32LE(0);
  const length = trailer.readUInt32LE(4);
  if (received.bytes % 2 ** 32 !== length) return;
  if (received.crc32 !== crc32) {
    throw new AppError(
      'internal',
      `the unpacked data of ${source} (CRC-32 ${received.crc32.toString(16)}) does not match its gzip trailer (${crc32.toString(16)})`,
      { location: source, hint: 'this is a bug in the reader, not in the media: please report it' },
    );
  }
}

function refuse(source: string, member: TarMember, problem: string, hint?: string): AppError {
  return new AppError('invalid-media', `the member "${displayText(member.name)}" is refused: ${problem}`, {
    location: memberLocation(source, member),
    hint: hint ?? 'boot media must hold only plain files and folders inside the archive',
  });
}

/** An Alpine boot tarball (`alpine-rpi-<version>-<arch>.tar.gz`) read as a stream. */
export async function openTarball(path: string, options: TarballOptions = {}): Promise<TarballSource> {
  const handle = await fs.open(path, 'r').catch((error: unknown) => {
    throw new AppError('not-found', `cannot open the boot media: ${(error as Error).message}`, {
      location: path,
      hint: 'check the path given with --boot-media',
      cause: error,
    });
  });
  let size: number;
  const fingerprint = Buffer.alloc(8);
  try {
    size = (await handle.stat()).size;
    if (size >= 18) await handle.read(fingerprint, 0, 8, size - 8);
    const magic = Buffer.alloc(2);
    await handle.read(magic, 0, 2, 0);
    if (size < 18 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
      throw new AppError('invalid-media', 'this is not a gzip file (no 1f 8b magic at byte 0)', {
        location: path,
        hint: 'give the .tar.gz boot media (alpine-rpi-<version>-<arch>.tar.gz)',
      });
    }
  } finally {
    await handle.close();
  }

  async function* entries(): AsyncGenerator<MediaEntry> {
    if (options.signal?.aborted) throw new CancelledError();
    const gunzip = new LendingGunzip();
    const reader = new TarReader(gunzip);
    const state = {
      lastMember: null as string | null,
      get tarBytes() {
        return reader.position;
      },
    };
    const abort = (): void => gunzip.destroy(new CancelledError());
    options.signal?.addEventListener('abort', abort, { once: true });
    const feeding = feedFile(path, gunzip, options).catch((error: unknown) => gunzip.destroy(error as Error));
    let serial = 0;
    /** Files and links so far: a hard link can only name one of them (tar stores it after its target). */
    const stored = new Set<string>();
    try {
      for (;;) {
        const member = await reader.next();
        if (member === null) break;
        serial += 1;
        const current = serial;
        const checked = normalizeMemberName(member.name);
        if (!checked.ok) throw refuse(path, member, checked.problem);
        const memberPath = checked.path;
        const mtime = member.mtime;
        state.lastMember = member.name;
        switch (member.type) {
          case 'directory':
            yield { kind: 'directory', path: memberPath, mtime };
            break;
          case 'file':
          case 'contiguous-file':
            if (memberPath === '') throw refuse(path, member, 'a file cannot be the media root');
            stored.add(memberPath);
            yield {
              kind: 'file',
              path: memberPath,
              size: member.size,
              mtime,
              body: memberBody(
                reader,
                () => serial === current,
                (error) => describeFailureInFile(path, error, state),
              ),
            };
            break;
          case 'symlink': {
            const target = resolveSymlinkTarget(memberPath, member.linkname);
            if (!target.ok) throw refuse(path, member, `it is a symbolic link and ${target.problem}`);
            stored.add(memberPath);
            yield { kind: 'link', path: memberPath, target: target.path, hard: false, mtime };
            break;
          }
          case 'link': {
            const target = normalizeMemberName(member.linkname);
            if (!target.ok || target.path === '') {
              throw refuse(path, member, `it is a hard link to "${displayText(member.linkname)}", outside the media`);
            }
            if (!stored.has(target.path)) {
              throw refuse(
                path,
                member,
                `it is a hard link to "${displayText(member.linkname)}", which is not a file before it in the archive`,
                'tar stores a hard link after the file it links to, so the archive is incomplete or damaged: download the boot media again, or repack them with tar',
              );
            }
            stored.add(memberPath);
            yield { kind: 'link', path: memberPath, target: target.path, hard: true, mtime };
            break;
          }
          case 'sparse-file':
            throw refuse(
              path,
              member,
              `it is a sparse file (made by tar --sparse${member.sparseName === null ? '' : `, standing for "${displayText(member.sparseName)}"`}), which this tool does not read`,
              'repack the media with tar without --sparse (the holes are then stored as zeros), or use the boot media from an Alpine mirror, unchanged',
            );
          case 'character-device':
          case 'block-device':
          case 'fifo':
            throw refuse(path, member, `it is a ${member.type.replace('-', ' ')}, which a FAT card cannot hold`);
          default:
            throw refuse(path, member, `its tar type ${member.type.replace('unknown ', '')} is not supported`);
        }
      }
      // Inflate the rest (end-of-archive blocks) too, so that the gzip checksum is verified.
      while ((await gunzip.pull(Infinity)) !== null);
      checkTrailer(gunzip.received, fingerprint, path);
      // Node's gunzip ignores what follows a zero byte after the gzip data: only zeros may.
      if (gunzip.inputBytes < size) {
        const trailing = await withFileRange(path, (range) => trailingData(range, gunzip.inputBytes));
        if (trailing !== null) {
          throw trailingDataError(trailing, { source: path, code: 'invalid-media', again: DOWNLOAD_AGAIN });
        }
      }
    } catch (error) {
      if (options.signal?.aborted) throw new CancelledError();
      throw await describeFailureInFile(path, error, state);
    } finally {
      serial = -1;
      options.signal?.removeEventListener('abort', abort);
      gunzip.destroy();
      await feeding;
    }
    if (options.signal?.aborted) throw new CancelledError();
  }

  return { path, size, fingerprint, entries };
}
