import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { LINT_TEXT_FILES, type ApkovlMember } from '../../../shared/rules/apkovl-lint.js';
import { displayText } from '../../../shared/rules/display.js';
import { formatBytes } from '../../../shared/model/size.js';
import {
  bufferRange,
  findGzipProblem,
  gzipProblemError,
  trailingData,
  trailingDataError,
  fileRange,
  type ByteRange,
} from '../boot-media/gzip-end.js';
import { LendingGunzip } from '../boot-media/lending-gunzip.js';
import { TarFormatError, TarReader, type ByteSource } from '../boot-media/tar-reader.js';

/**
 * What reading an apkovl may take. An apkovl is unpacked into RAM (tmpfs) by the initramfs at
 * every boot, before anything else runs; real ones hold kilobytes to a few megabytes of
 * configuration. The limits are far above that and far below what would hurt: a gzip "bomb"
 * (a few hundred KB that inflate to gigabytes of zeros) is stopped while it is read, with
 * memory staying at a few megabytes.
 */
export interface ApkovlLimits {
  /** The tar stream inside, in bytes: 256 MiB, a quarter of the RAM of a 1 GB Pi. */
  unpackedBytes: number;
  /** Members (files, folders, links): 65 536, some ten times a whole Alpine system's /etc, /home and /root. */
  members: number;
  /** A file's content is kept (for the checks) up to this size: 1 MiB; bigger files keep their size only. */
  keepContent: number;
  /**
   * Contents kept in all. Past it, files keep only their size, except those the checks read by
   * name (etc/hostname, etc/passwd, ...), of which only the last of each name is kept.
   */
  keptContent: number;
}

export const APKOVL_LIMITS: Readonly<ApkovlLimits> = {
  unpackedBytes: 256 << 20,
  members: 65_536,
  keepContent: 1 << 20,
  keptContent: 16 << 20,
};

/** The apkovl's bytes (already read, as `build --overlay` keeps them for the card), or its file. */
export type ApkovlSource = Uint8Array | { path: string };

const PIECE = 64 << 10;
const REPACK = 'pack it again, e.g. tar -czf host.apkovl.tar.gz -C root etc (and the other folders)';

function cleanName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/**
 * An apkovl's members as stored (names, types, modes, owners, small contents), read as a stream
 * within `limits`. Used by `apkovl inspect` and by `build --overlay`.
 */
export async function readApkovl(
  source: ApkovlSource,
  location: string,
  limits: Readonly<ApkovlLimits> = APKOVL_LIMITS,
): Promise<ApkovlMember[]> {
  if (source instanceof Uint8Array) return readRange(bufferRange(source), location, limits);
  const handle = await open(source.path, 'r').catch((error: unknown) => {
    throw new AppError('not-found', `cannot read the apkovl: ${(error as Error).message}`, {
      location,
      hint: 'check the path',
      cause: error,
    });
  });
  try {
    return await readRange(await fileRange(handle), location, limits);
  } finally {
    await handle.close();
  }
}

function limitError(location: string, message: string, where: string, hint: string): AppError {
  return new AppError('invalid-input', message, { location: `${location}, ${where}`, hint });
}

async function readRange(range: ByteRange, location: string, limits: Readonly<ApkovlLimits>): Promise<ApkovlMember[]> {
  const magic = await range.read(0, 2);
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) {
    throw new AppError('invalid-input', 'this is not gzip (no 1f 8b magic at byte 0); an apkovl must be a .tar.gz', {
      location,
      hint: 'pack it with tar -czf host.apkovl.tar.gz etc ...',
    });
  }
  const gunzip = new LendingGunzip({ chunkSize: PIECE, highWater: 4 * PIECE });
  const feeding = (async () => {
    for (let position = 0; position < range.size; position += PIECE) {
      if (!(await gunzip.write(await range.read(position, PIECE)))) return;
    }
    gunzip.end();
  })().catch((error: unknown) => gunzip.destroy(error as Error));

  let unpacked = 0;
  // Counts every inflated byte the tar reader takes, including what it skips.
  const counted: ByteSource = {
    async pull(max) {
      const view = await gunzip.pull(max);
      if (view === null) return null;
      unpacked += view.length;
      if (unpacked > limits.unpackedBytes) {
        throw limitError(
          location,
          `the overlay unpacks to more than ${formatBytes(limits.unpackedBytes)} (${formatBytes(range.size)} packed); the initramfs unpacks it into RAM at every boot`,
          `at byte ${unpacked - view.length} of the unpacked tar`,
          'keep large files out of the apkovl (put them on the card or install them as packages); a file that inflates this much may be a gzip bomb',
        );
      }
      return view;
    },
  };
  const reader = new TarReader(counted);
  const members: ApkovlMember[] = [];
  /** The member kept for each name the checks read, so that a later one of the same name replaces it. */
  const named = new Map<string, ApkovlMember>();
  let kept = 0;
  let lastName: string | null = null;
  try {
    for (let member = await reader.next(); member !== null; member = await reader.next()) {
      lastName = member.name;
      if (members.length >= limits.members) {
        throw limitError(
          location,
          `the overlay has more than ${limits.members} members; an apkovl holds configuration, typically a few hundred`,
          `member "${displayText(member.name)}" (byte ${member.offset} of the unpacked tar)`,
          'leave out what the machine does not need at boot, or install it as packages',
        );
      }
      const isFile = member.type === 'file' || member.type === 'contiguous-file';
      const path = cleanName(member.name);
      const readsByName = isFile && LINT_TEXT_FILES.has(path);
      let content: Uint8Array | null = null;
      let sha256: string | undefined;
      if (isFile) {
        // Every file is hashed (verify compares members by digest); small ones are also kept.
        const keep = member.size <= limits.keepContent && (readsByName || kept + member.size <= limits.keptContent);
        const data = keep ? new Uint8Array(member.size) : null;
        const hash = createHash('sha256');
        let filled = 0;
        for (let view = await reader.read(); view !== null; view = await reader.read()) {
          hash.update(view);
          data?.set(view, filled);
          filled += view.length;
        }
        sha256 = hash.digest('hex');
        if (data !== null) {
          content = data;
          if (!readsByName) kept += member.size;
        }
      }
      const details = reader.details();
      const read: ApkovlMember = {
        name: member.name,
        type: member.type,
        mode: details.mode,
        uid: details.uid,
        gid: details.gid,
        uname: details.uname,
        gname: details.gname,
        size: member.size,
        linkname: member.linkname === '' ? null : member.linkname,
        content,
        ...(sha256 !== undefined ? { sha256 } : {}),
      };
      if (readsByName) {
        const previous = named.get(path);
        if (previous !== undefined) previous.content = null;
        named.set(path, read);
      }
      members.push(read);
    }
    // Inflate the rest too: the end-of-archive blocks, and the gzip checksum at the end.
    while ((await counted.pull(PIECE)) !== null);
    const trailing = await trailingData(range, gunzip.inputBytes);
    if (trailing !== null)
      throw trailingDataError(trailing, { source: location, code: 'invalid-input', again: REPACK });
  } catch (error) {
    throw await describe(error, range, location, lastName, reader.position);
  } finally {
    gunzip.destroy();
    await feeding;
  }
  return members;
}

async function describe(
  error: unknown,
  range: ByteRange,
  location: string,
  lastName: string | null,
  tarBytes: number,
): Promise<AppError> {
  if (error instanceof AppError) return error;
  const after = lastName === null ? 'before the first member' : `in or after the member "${displayText(lastName)}"`;
  if (error instanceof TarFormatError) {
    return new AppError(
      'invalid-input',
      `the tar archive inside is damaged (${error.message}); the initramfs would stop in an emergency shell`,
      { location: `${location}, ${after} (byte ${error.offset} of the unpacked tar)`, hint: REPACK, cause: error },
    );
  }
  const code = (error as { code?: string } | null)?.code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
    const problem = await findGzipProblem(range).catch(() => null);
    if (problem !== null) {
      return gzipProblemError(problem, {
        source: location,
        code: 'invalid-input',
        again: REPACK,
        context: `${after} (about byte ${tarBytes} of the unpacked tar)`,
        cause: error,
      });
    }
  }
  return new AppError(
    'invalid-input',
    `the gzip data is damaged (${(error as Error).message}); the initramfs would stop in an emergency shell`,
    { location: `${location}, ${after} (about byte ${tarBytes} of the unpacked tar)`, hint: REPACK, cause: error },
  );
}
