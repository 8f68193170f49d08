import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';

/**
 * A read-only ISO 9660 reader for Alpine's ISO images: the primary volume with Rock Ridge names
 * (case and length preserved), else the Joliet volume, else plain ISO 9660 names. Files are
 * read by offset, so nothing is held in memory but the directory tree.
 */

const SECTOR = 2048;

export interface IsoNode {
  name: string;
  isDirectory: boolean;
  /** First sector of the data. */
  extent: number;
  size: number;
  /** Unix seconds. */
  mtime: number;
  /** Rock Ridge symbolic link target, if it is one. */
  symlinkTarget: string | null;
  children: IsoNode[];
}

export interface IsoImage {
  path: string;
  volumeId: string;
  /** Which names the tree uses. */
  naming: 'rock-ridge' | 'joliet' | 'iso9660';
  root: IsoNode;
  /** The primary volume descriptor: a fingerprint of the image. */
  descriptor: Buffer;
  size: number;
  readRange(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

function invalid(path: string, message: string, where?: number): AppError {
  return new AppError('invalid-media', message, {
    location: where === undefined ? path : `${path}, byte ${where}`,
    hint: 'use an Alpine ISO image (alpine-<flavor>-<version>-x86_64.iso), unchanged',
  });
}

function recordTime(bytes: Buffer, at: number): number {
  const year = 1900 + (bytes[at] ?? 0);
  const offsetMinutes = (((bytes[at + 6] ?? 0) << 24) >> 24) * 15;
  const utc = Date.UTC(
    year,
    (bytes[at + 1] ?? 1) - 1,
    bytes[at + 2] ?? 1,
    bytes[at + 3] ?? 0,
    bytes[at + 4] ?? 0,
    bytes[at + 5] ?? 0,
  );
  return Math.floor(utc / 1000) - offsetMinutes * 60;
}

interface SuspResult {
  name: string | null;
  symlink: string | null;
  rockRidge: boolean;
}

export async function openIso(path: string): Promise<IsoImage> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new AppError('not-found', `cannot open the boot media: ${(error as Error).message}`, {
      location: path,
      cause: error,
    });
  }
  const size = (await handle.stat()).size;
  return openIsoSource({
    path,
    size,
    read: async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    close: () => handle.close(),
  });
}

/** Bytes to read an ISO 9660 volume from: a file, or a partition of a card. */
export interface IsoByteSource {
  /** For messages. */
  path: string;
  size: number;
  /** Read up to buffer.length bytes at `position`; the count read (0 at the end). */
  read(buffer: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export async function openIsoSource(source: IsoByteSource): Promise<IsoImage> {
  const { path, size } = source;
  const handle = { close: () => source.close() };
  const readRange = async (position: number, length: number): Promise<Buffer> => {
    if (position < 0 || position + length > size)
      throw invalid(path, `the image ends before byte ${position + length}: it is truncated`, position);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const bytesRead = await source.read(buffer.subarray(done), position + done);
      if (bytesRead === 0) throw invalid(path, 'the image ends early: it is truncated', position + done);
      done += bytesRead;
    }
    return buffer;
  };
  try {
    let primary: Buffer | null = null;
    let joliet: Buffer | null = null;
    for (let sector = 16; sector < 64; sector += 1) {
      const descriptor = await readRange(sector * SECTOR, SECTOR);
      if (descriptor.toString('latin1', 1, 6) !== 'CD001')
        throw invalid(
          path,
          'no ISO 9660 volume descriptor (CD001) at sector 16: this is not an ISO image',
          sector * SECTOR,
        );
      const type = descriptor[0];
      if (type === 1) primary ??= descriptor;
      if (type === 2 && ['%/@', '%/C', '%/E'].includes(descriptor.toString('latin1', 88, 91))) joliet ??= descriptor;
      if (type === 255) break;
    }
    if (primary === null) throw invalid(path, 'the image has no primary volume descriptor');
    const volumeId = primary.toString('latin1', 40, 72).trim();

    // Rock Ridge is announced by the SUSP "SP" entry in the root's "." record.
    const rootRecord = primary.subarray(156, 156 + 34);
    const rootExtent = rootRecord.readUInt32LE(2);
    const firstRoot = await readRange(rootExtent * SECTOR, SECTOR);
    const dotLength = firstRoot[0] ?? 0;
    const dotNameLength = firstRoot[32] ?? 0;
    const dotSystemUse = 33 + dotNameLength + (dotNameLength % 2 === 0 ? 1 : 0);
    const rockRidge = firstRoot.toString('latin1', dotSystemUse, dotSystemUse + 2) === 'SP' && dotLength > dotSystemUse;
    const naming: IsoImage['naming'] = rockRidge ? 'rock-ridge' : joliet !== null ? 'joliet' : 'iso9660';
    const descriptor = naming === 'joliet' ? (joliet as Buffer) : primary;

    const susp = async (record: Buffer, start: number): Promise<SuspResult> => {
      const result: SuspResult = { name: null, symlink: null, rockRidge: false };
      let area = record.subarray(start);
      const pending: Buffer[] = [area];
      let guard = 0;
      while ((area = pending.shift() as Buffer) !== undefined && guard < 64) {
        guard += 1;
        let at = 0;
        while (at + 4 <= area.length) {
          const signature = area.toString('latin1', at, at + 2);
          const length = area[at + 2] ?? 0;
          if (length < 4 || at + length > area.length) break;
          const data = area.subarray(at + 4, at + length);
          if (signature === 'NM') {
            result.rockRidge = true;
            const flags = data[0] ?? 0;
            if ((flags & 0x06) === 0) result.name = (result.name ?? '') + data.subarray(1).toString('utf8');
          } else if (signature === 'SL') {
            result.rockRidge = true;
            const parts: string[] = [];
            let offset = 1;
            while (offset + 2 <= data.length) {
              const flags = data[offset] ?? 0;
              const componentLength = data[offset + 1] ?? 0;
              const text = data.subarray(offset + 2, offset + 2 + componentLength).toString('utf8');
              parts.push(flags & 0x02 ? '.' : flags & 0x04 ? '..' : flags & 0x08 ? '' : text);
              offset += 2 + componentLength;
            }
            result.symlink = (result.symlink === null ? '' : `${result.symlink}/`) + parts.join('/');
          } else if (signature === 'CE') {
            const block = data.readUInt32LE(0);
            const offset = data.readUInt32LE(8);
            const continued = data.readUInt32LE(16);
            if (continued > 0 && continued <= SECTOR * 4)
              pending.push(await readRange(block * SECTOR + offset, continued));
          } else if (signature === 'ST') {
            break;
          }
          at += length;
        }
      }
      return result;
    };

    const seen = new Set<number>();
    const readDirectory = async (extent: number, length: number, depth: number, where: string): Promise<IsoNode[]> => {
      if (depth > 32) throw invalid(path, `folders nest deeper than 32 levels at ${displayText(where)}`);
      if (seen.has(extent))
        throw invalid(path, `the folder ${displayText(where)} is listed twice (a loop)`, extent * SECTOR);
      seen.add(extent);
      const data = await readRange(extent * SECTOR, length);
      const nodes: IsoNode[] = [];
      let at = 0;
      while (at < data.length) {
        const recordLength = data[at] ?? 0;
        if (recordLength === 0) {
          at = (Math.floor(at / SECTOR) + 1) * SECTOR; // records do not cross sectors
          continue;
        }
        if (recordLength < 34 || at + recordLength > data.length)
          throw invalid(path, `a damaged directory record in ${displayText(where)}`, extent * SECTOR + at);
        const record = data.subarray(at, at + recordLength);
        at += recordLength;
        const nameLength = record[32] ?? 0;
        const rawName = record.subarray(33, 33 + nameLength);
        if (nameLength === 1 && (rawName[0] === 0 || rawName[0] === 1)) continue; // . and ..
        const flags = record[25] ?? 0;
        if (flags & 0x80)
          throw invalid(
            path,
            `a file in ${displayText(where)} spans several extents, which is not supported`,
            extent * SECTOR + at,
          );
        let name: string;
        let symlink: string | null = null;
        if (naming === 'joliet') name = Buffer.from(rawName).swap16().toString('utf16le');
        else name = rawName.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '');
        if (naming === 'rock-ridge') {
          const systemUse = 33 + nameLength + (nameLength % 2 === 0 ? 1 : 0);
          const extra = await susp(record, systemUse);
          if (extra.name !== null) name = extra.name;
          symlink = extra.symlink;
        }
        // A name from the image becomes a path on the stick: it must be one plain name.
        if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
          throw invalid(
            path,
            `a name in ${displayText(where || '/')} is "${displayText(name)}", which cannot be a file name`,
            extent * SECTOR + at - recordLength,
          );
        }
        const node: IsoNode = {
          name,
          isDirectory: (flags & 0x02) !== 0,
          extent: record.readUInt32LE(2),
          size: record.readUInt32LE(10),
          mtime: recordTime(record, 18),
          symlinkTarget: symlink,
          children: [],
        };
        if (node.extent * SECTOR + node.size > size)
          throw invalid(
            path,
            `${displayText(`${where}/${name}`)} lies past the end of the image`,
            node.extent * SECTOR,
          );
        if (node.isDirectory)
          node.children = await readDirectory(node.extent, node.size, depth + 1, `${where}/${name}`);
        nodes.push(node);
      }
      return nodes;
    };

    const rootInfo = descriptor.subarray(156, 156 + 34);
    const root: IsoNode = {
      name: '',
      isDirectory: true,
      extent: rootInfo.readUInt32LE(2),
      size: rootInfo.readUInt32LE(10),
      mtime: recordTime(rootInfo, 18),
      symlinkTarget: null,
      children: [],
    };
    root.children = await readDirectory(root.extent, root.size, 0, '');
    return { path, volumeId, naming, root, descriptor: primary, size, readRange, close: () => handle.close() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
