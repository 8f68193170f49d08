import { promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { MediaEntry } from '../image/media-entry.js';
import { normalizeMemberName, resolveSymlinkTarget } from './media-path.js';
import type { MediaSource, MediaSourceOptions } from './media-source.js';

/** The fingerprint of a tarball is its gzip trailer: the CRC-32 and length of the whole tar. */
export type TarballSource = MediaSource;
export type TarballOptions = MediaSourceOptions;

const READ_CHUNK = 1 << 20;
/** Output pieces of 256 KiB keep the allocator reusing memory instead of faulting in new pages. */
const INFLATE_CHUNK = 256 << 10;

/**
 * Feed the compressed file into `sink` through three reused read buffers: a buffer is read
 * into again only once the inflater has consumed it. (A read stream would allocate a fresh
 * buffer per read, and on a 100 MB tarball the page faults cost more than the inflating.)
 */
async function feedFile(path: string, sink: zlib.Gunzip, options: TarballOptions): Promise<void> {
  const handle = await fs.open(path, 'r');
  // A destroyed inflater may never call back for what it was given: stop waiting then.
  const closed = new Promise<void>((resolve) => sink.once('close', resolve));
  try {
    const buffers = [0, 1, 2].map(() => Buffer.allocUnsafeSlow(READ_CHUNK));
    const pending: (Promise<void> | null)[] = buffers.map(() => null);
    let position = 0;
    for (let index = 0; ; index = (index + 1) % buffers.length) {
      await Promise.race([pending[index], closed]);
      if (sink.destroyed || options.signal?.aborted) return;
      const buffer = buffers[index] as Buffer;
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      options.onRead?.(position);
      pending[index] = new Promise<void>((resolve) => {
        sink.write(buffer.subarray(0, bytesRead), () => resolve());
      });
    }
    await Promise.race([Promise.all(pending.filter((write) => write !== null)), closed]);
    if (!sink.destroyed) sink.end();
  } finally {
    await handle.close();
  }
}

function describeFailure(
  source: string,
  error: unknown,
  state: { lastMember: string | null; tarBytes: number },
): AppError {
  if (error instanceof AppError) return error;
  const after = state.lastMember === null ? 'before the first member' : `in or after the member "${state.lastMember}"`;
  const where = `${source}, ${after} (about byte ${state.tarBytes} of the unpacked tar)`;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  if (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(message)) {
    return new AppError('invalid-media', 'the gzip stream ends early: the file is truncated', {
      location: where,
      hint: 'download the boot media again',
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
  if (/Invalid tar header/i.test(message)) {
    return new AppError('invalid-media', 'a tar header is corrupt (bad checksum or format)', {
      location: where,
      hint: 'download the boot media again',
      cause: error,
    });
  }
  if (/Unexpected end of data/i.test(message)) {
    return new AppError('invalid-media', 'the tar archive ends in the middle of a member', {
      location: where,
      hint: 'download the boot media again',
      cause: error,
    });
  }
  return new AppError('io', `cannot read the boot media: ${message}`, { location: where, cause: error });
}

/**
 * A member's data, with stream errors (a truncated gzip mid-file) turned into clear ones. A
 * plain forwarding iterator: it sits on the path of every chunk, so no generator machinery.
 */
function guarded(source: AsyncIterable<Uint8Array>, describe: (error: unknown) => AppError): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        next: () =>
          iterator.next().catch((error: unknown) => {
            throw describe(error);
          }),
        return: (value?: unknown) =>
          iterator.return ? iterator.return(value) : Promise.resolve({ done: true as const, value: undefined }),
      };
    },
  };
}

function refuse(source: string, member: string, problem: string): AppError {
  return new AppError('invalid-media', `the member "${member}" is refused: ${problem}`, {
    location: source,
    hint: 'boot media must hold only plain files and folders inside the archive',
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
    const state = { lastMember: null as string | null, tarBytes: 0 };
    let failure: unknown = null;
    const gunzip = zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
    const extract = tar.extract();
    gunzip.on('error', (error) => (failure ??= error));
    const piping = pipeline(gunzip, extract, options.signal ? { signal: options.signal } : {}).catch(
      (error: unknown) => {
        failure ??= error;
      },
    );
    const feeding = feedFile(path, gunzip, options).catch((error: unknown) => {
      failure ??= error;
      gunzip.destroy(error as Error);
    });
    try {
      for await (const member of extract) {
        const header = member.header;
        const checked = normalizeMemberName(header.name);
        if (!checked.ok) throw refuse(path, header.name, checked.problem);
        const memberPath = checked.path;
        const mtime = Math.floor((header.mtime?.getTime() ?? 0) / 1000);
        state.lastMember = header.name;
        // Where the next member starts: header plus data padded to 512 bytes (for messages).
        state.tarBytes += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
        switch (header.type) {
          case 'directory':
            yield { kind: 'directory', path: memberPath, mtime };
            break;
          case 'file':
          case 'contiguous-file':
            if (memberPath === '') throw refuse(path, header.name, 'a file cannot be the media root');
            yield {
              kind: 'file',
              path: memberPath,
              size: header.size ?? 0,
              mtime,
              body: guarded(member as AsyncIterable<Uint8Array>, (error) =>
                describeFailure(path, failure ?? error, state),
              ),
            };
            break;
          case 'symlink': {
            const target = resolveSymlinkTarget(memberPath, header.linkname ?? '');
            if (!target.ok) throw refuse(path, header.name, `it is a symbolic link and ${target.problem}`);
            yield { kind: 'link', path: memberPath, target: target.path, mtime };
            break;
          }
          case 'link': {
            const target = normalizeMemberName(header.linkname ?? '');
            if (!target.ok || target.path === '') {
              throw refuse(path, header.name, `it is a hard link to "${header.linkname ?? ''}", outside the media`);
            }
            yield { kind: 'link', path: memberPath, target: target.path, mtime };
            break;
          }
          case 'character-device':
          case 'block-device':
          case 'fifo':
            throw refuse(path, header.name, `it is a ${header.type.replace('-', ' ')}, which a FAT card cannot hold`);
          default:
            throw refuse(path, header.name, `its tar type "${String(header.type)}" is not supported`);
        }
        member.resume(); // drain whatever the consumer left unread
      }
    } catch (error) {
      if (options.signal?.aborted) throw new CancelledError();
      throw describeFailure(path, failure ?? error, state);
    } finally {
      gunzip.destroy();
      await feeding;
    }
    await piping;
    if (options.signal?.aborted) throw new CancelledError();
    if (failure !== null) throw describeFailure(path, failure, state);
  }

  return { path, size, fingerprint, entries };
}
