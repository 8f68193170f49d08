/**
 * A streaming tar reader (POSIX ustar and pax, GNU long names, old v7 headers) over a source
 * of lent bytes: member data comes out as views into the source's buffers, without copies.
 */

import { displayText } from '../../../shared/rules/display.js';

/** Bytes in order, as views valid until the next call; null at the end. */
export interface ByteSource {
  pull(max: number): Promise<Uint8Array | null>;
}

/** The bytes of one buffer held in memory (a small archive), as a source. */
export function bufferSource(data: Uint8Array): ByteSource {
  let at = 0;
  return {
    pull: (max) => {
      if (at >= data.length) return Promise.resolve(null);
      const view = data.subarray(at, Math.min(data.length, at + max));
      at += view.length;
      return Promise.resolve(view);
    },
  };
}

export type TarMemberType =
  | 'file'
  | 'contiguous-file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  /** GNU `S` members and pax members with `GNU.sparse.*` keywords (tar --sparse): data with holes left out. */
  | 'sparse-file'
  | `unknown (type flag "${string}")`;

export interface TarMember {
  name: string;
  linkname: string;
  type: TarMemberType;
  /** Bytes of data that follow the header. */
  size: number;
  /** Unix seconds. */
  mtime: number;
  /** Offset of the member's (first) header in the tar stream. */
  offset: number;
  /**
   * For a sparse file, the name it stands for: pax sparse formats 0.1 and 1.0 store the member
   * as `GNUSparseFile.<pid>/<name>` and keep the real name in `GNU.sparse.name`. Null otherwise.
   */
  sparseName: string | null;
}

/** Owner and permissions of the current member, read on demand (the card builder has no use for them). */
export interface TarMemberDetails {
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

export class TarFormatError extends Error {
  constructor(
    readonly kind: 'corrupt' | 'truncated',
    message: string,
    /** Offset in the tar stream where the problem is. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const BLOCK = 512;
/** Pax and GNU long-name members are read into memory; real ones are a few hundred bytes. */
const MAX_METADATA = 1 << 20;

const TYPES: Record<string, TarMemberType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'contiguous-file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  S: 'sparse-file',
};

interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Any GNU.sparse.* keyword (pax sparse formats 0.0, 0.1 and 1.0). */
  sparse?: boolean;
  /** GNU.sparse.name: the real name of a pax sparse member (formats 0.1 and 1.0). */
  sparseName?: string;
}

/** GNU `S` headers: "isextended" flag, and the flag's place in each extension block of sparse entries. */
const GNU_SPARSE_EXTENDED = 482;
const GNU_SPARSE_EXTENSION_FLAG = 504;

export class TarReader {
  /** Bytes of the tar stream consumed so far. */
  position = 0;
  private dataLeft = 0;
  private paddingLeft = 0;
  private finished = false;
  private readonly header = Buffer.alloc(BLOCK);
  private global: Overrides = {};
  /** The pax values in force for the current member. */
  private values: Overrides = {};

  constructor(private readonly source: ByteSource) {}

  /**
   * The next member, after skipping what is left of the previous one; null after the
   * end-of-archive block (or at the end of the data on a member boundary).
   */
  async next(): Promise<TarMember | null> {
    if (this.finished) return null;
    await this.skip(this.dataLeft + this.paddingLeft);
    this.dataLeft = 0;
    this.paddingLeft = 0;
    let local: Overrides = {};
    let offset: number | null = null;
    for (;;) {
      const start = this.position;
      if (!(await this.readBlock(this.header))) {
        if (offset !== null)
          throw new TarFormatError('truncated', 'the archive ends after a pax or GNU long-name header', start);
        this.finished = true;
        return null;
      }
      offset ??= start;
      if (isZeroBlock(this.header)) {
        if (offset !== start)
          throw new TarFormatError('truncated', 'the archive ends after a pax or GNU long-name header', start);
        this.finished = true;
        return null;
      }
      verifyChecksum(this.header, start);
      const flag = String.fromCharCode(this.header[156] as number);
      const size = readNumber(this.header, 124, 12, 'size', start);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_METADATA) {
          throw new TarFormatError('corrupt', `a metadata member of ${size} bytes is too large to be real`, start);
        }
        const data = Buffer.alloc(size);
        if (!(await this.readBlock(data)))
          throw new TarFormatError('truncated', 'the archive ends inside a metadata member', start);
        await this.skip(padding(size));
        const at = this.position - size - padding(size);
        if (flag === 'x') local = applyPax(local, data, at);
        else if (flag === 'g') this.global = applyPax(this.global, data, at);
        else if (flag === 'L') local.path = cString(data, 0, data.length);
        else local.linkpath = cString(data, 0, data.length);
        continue;
      }
      const values = { ...this.global, ...local };
      this.values = values;
      const name = values.path ?? headerName(this.header);
      let type: TarMemberType = TYPES[flag] ?? `unknown (type flag "${flag}")`;
      // Pre-POSIX archives mark folders only by the trailing slash (GNU tar reads it so too).
      if ((type === 'file' || type === 'contiguous-file') && name.endsWith('/')) type = 'directory';
      if (name === '') throw new TarFormatError('corrupt', 'a member has an empty name', start);
      // GNU.sparse.* keywords of a global header would be meaningless: only a member's own count.
      if (local.sparse === true && (type === 'file' || type === 'contiguous-file')) type = 'sparse-file';
      // GNU sparse headers may be followed by extension blocks of sparse entries, before the data.
      if (flag === 'S') await this.skipSparseExtensions(start);
      const memberSize = values.size ?? size;
      // Hard links carry data only in pax archives that say so; GNU tar gives them size 0.
      const hasData =
        type === 'file' ||
        type === 'contiguous-file' ||
        type === 'link' ||
        type === 'sparse-file' ||
        type.startsWith('unknown');
      this.dataLeft = hasData ? memberSize : 0;
      this.paddingLeft = hasData ? padding(memberSize) : 0;
      return {
        name,
        linkname: values.linkpath ?? cString(this.header, 157, 100),
        type,
        size: this.dataLeft,
        mtime: values.mtime ?? readNumber(this.header, 136, 12, 'mtime', start, true),
        offset,
        sparseName: type === 'sparse-file' ? (local.sparseName ?? null) : null,
      };
    }
  }

  /** Mode, owner and group of the member `next()` returned last (pax values first). */
  details(): TarMemberDetails {
    const values = this.values;
    return {
      mode: readNumber(this.header, 100, 8, 'mode', 0),
      uid: values.uid ?? readNumber(this.header, 108, 8, 'uid', 0),
      gid: values.gid ?? readNumber(this.header, 116, 8, 'gid', 0),
      uname: values.uname ?? cString(this.header, 265, 32),
      gname: values.gname ?? cString(this.header, 297, 32),
    };
  }

  /** The next piece of the current member's data (a lent view); null at its end. */
  async read(): Promise<Uint8Array | null> {
    if (this.dataLeft === 0) return null;
    const view = await this.source.pull(this.dataLeft);
    if (view === null) {
      throw new TarFormatError(
        'truncated',
        `the archive ends with ${this.dataLeft} bytes of a member missing`,
        this.position,
      );
    }
    this.dataLeft -= view.length;
    this.position += view.length;
    return view;
  }

  /** Fill `target` completely; false if the data ends before the first byte. */
  private async readBlock(target: Uint8Array): Promise<boolean> {
    let filled = 0;
    while (filled < target.length) {
      const view = await this.source.pull(target.length - filled);
      if (view === null) {
        if (filled === 0) return false;
        throw new TarFormatError('truncated', 'the archive ends in the middle of a header', this.position);
      }
      target.set(view, filled);
      filled += view.length;
      this.position += view.length;
    }
    return true;
  }

  private async skipSparseExtensions(start: number): Promise<void> {
    if (this.header[GNU_SPARSE_EXTENDED] === 0) return;
    const block = Buffer.alloc(BLOCK);
    do {
      if (!(await this.readBlock(block)))
        throw new TarFormatError('truncated', 'the archive ends inside the sparse map of a member', start);
    } while (block[GNU_SPARSE_EXTENSION_FLAG] !== 0);
  }

  private async skip(count: number): Promise<void> {
    while (count > 0) {
      const view = await this.source.pull(count);
      if (view === null) {
        throw new TarFormatError(
          'truncated',
          `the archive ends with ${count} bytes of a member missing`,
          this.position,
        );
      }
      count -= view.length;
      this.position += view.length;
    }
  }
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

function verifyChecksum(header: Buffer, offset: number): void {
  const stored = readNumber(header, 148, 8, 'checksum', offset);
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = index >= 148 && index < 156 ? 0x20 : (header[index] as number);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new TarFormatError('corrupt', `bad header checksum (stored ${stored}, computed ${unsigned})`, offset);
  }
}

/**
 * An octal field (NUL- or space-terminated), or GNU's base-256 (two's complement, first byte
 * 0x80 or above) for values octal cannot hold: files of 8 GiB and more, dates before 1970.
 */
function readNumber(
  header: Buffer,
  start: number,
  length: number,
  field: string,
  offset: number,
  signed = false,
): number {
  const first = header[start] as number;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f);
    for (let index = 1; index < length; index += 1) value = (value << 8n) | BigInt(header[start + index] as number);
    if (first & 0x40) value -= 1n << BigInt(8 * length - 1); // two's complement: negative
    if (value < 0n && !signed) throw new TarFormatError('corrupt', `the ${field} field is negative`, offset + start);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new TarFormatError('corrupt', `the ${field} field is out of range`, offset + start);
    }
    return Number(value);
  }
  const text = header
    .toString('latin1', start, start + length)
    .replace(/\0.*$/s, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(
      'corrupt',
      `the ${field} field "${displayText(text)}" is not an octal number`,
      offset + start,
    );
  }
  return parseInt(text, 8);
}

function cString(data: Buffer, start: number, length: number): string {
  const end = data.indexOf(0, start);
  return data.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

function headerName(header: Buffer): string {
  const name = cString(header, 0, 100);
  // POSIX ustar ("ustar\0" + "00") keeps long paths' leading part in the prefix field.
  const posix = header.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = posix ? cString(header, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/**
 * Pax extended header records ("<length> <key>=<value>\n") applied over `base`. An empty
 * value removes the keyword, as POSIX says.
 */
function applyPax(base: Overrides, data: Buffer, offset: number): Overrides {
  const result: Overrides = { ...base };
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // NUL padding after the records
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(data.toString('latin1', at, space));
    if (
      !Number.isInteger(length) ||
      length <= space - at ||
      at + length > data.length ||
      data[at + length - 1] !== 0x0a
    ) {
      throw new TarFormatError('corrupt', 'a pax header record is malformed', offset + at);
    }
    const record = data.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new TarFormatError('corrupt', 'a pax header record has no "="', offset + at);
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname') {
      if (value === '') delete result[key];
      else result[key] = value;
    } else if (key.startsWith('GNU.sparse.')) {
      result.sparse = true;
      if (key === 'GNU.sparse.name') result.sparseName = value;
    } else if (key === 'uid' || key === 'gid') {
      const number = Number(value);
      if (value === '') delete result[key];
      else if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) {
        throw new TarFormatError(
          'corrupt',
          `the pax ${key} "${displayText(value)}" is not a valid number`,
          offset + at,
        );
      } else result[key] = number;
    } else if (key === 'size' || key === 'mtime') {
      const number = Number(value);
      if (value === '') delete result[key];
      else if (!Number.isFinite(number) || (key === 'size' && (number < 0 || !Number.isSafeInteger(number)))) {
        throw new TarFormatError(
          'corrupt',
          `the pax ${key} "${displayText(value)}" is not a valid number`,
          offset + at,
        );
      } else result[key] = Math.floor(number);
    }
    at += length;
  }
  return result;
}
