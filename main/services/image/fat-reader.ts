import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { MIN_FAT32_CLUSTERS, SECTOR_SIZE } from './constants.js';
import {
  ATTR_DIRECTORY,
  ATTR_LONG_NAME,
  ATTR_VOLUME_ID,
  DIRECTORY_ENTRY_SIZE,
  MAX_DIRECTORY_ENTRIES,
  fromFatTimestamp,
  longEntryUnits,
} from './fat-directory.js';
import { foldName, readShortName, shortNameChecksum } from './fat-names.js';
import { FAT_BAD_CLUSTER, FAT_ENTRY_MASK } from './fat-table.js';
import { decodeBootSector, decodeFsInfo, type BootSector, type FsInfo } from './fat32-boot-sector.js';
import { decodeMbr, type Mbr } from './mbr.js';

/** Anything bytes can be read from at an offset: an image file, a device, a target. */
export interface ReadableMedium {
  readonly size: number;
  read(buffer: Buffer, position: number): Promise<number>;
}

export interface FatEntry {
  /** The long name if there is one, else the short name (with NT case flags applied). */
  name: string;
  shortName: string;
  hasLongName: boolean;
  isDirectory: boolean;
  attributes: number;
  firstCluster: number;
  size: number;
  /** Last write time, Unix seconds (FAT stores local time; this project writes UTC). */
  mtime: number;
  /** Byte offset of the short entry on the medium, for error messages. */
  entryOffset: number;
}

export interface Run {
  cluster: number;
  count: number;
}

async function readExactly(medium: ReadableMedium, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const count = await medium.read(buffer.subarray(done), position + done);
    if (count === 0) {
      throw new AppError(
        'invalid-media',
        `the medium ends at byte ${position + done}; ${length - done} more bytes were expected`,
        {
          location: `bytes ${position}-${position + length - 1}`,
          hint: 'the image or card is truncated',
        },
      );
    }
    done += count;
  }
  return buffer;
}

export async function readMbr(medium: ReadableMedium): Promise<Mbr | null> {
  return decodeMbr(await readExactly(medium, 0, SECTOR_SIZE));
}

function invalid(message: string, location: string, hint?: string): AppError {
  return new AppError('invalid-media', message, hint === undefined ? { location } : { location, hint });
}

/**
 * A read-only FAT32 volume: checks the boot sector, walks cluster chains with bounds and loop
 * checks, and lists and reads folders and files with their long names. Used by the tests and
 * by card verification.
 */
export class Fat32Volume {
  /** Findings that do not stop reading (a stale FSInfo, a backup boot sector that differs). */
  readonly warnings: string[] = [];
  readonly clusterSize: number;
  readonly clusterCount: number;
  private readonly fatStart: number;
  private readonly dataStart: number;
  private readonly fatCache = new Map<number, Buffer>();
  private static readonly FAT_BLOCK = 64 * 1024;

  private constructor(
    private readonly medium: ReadableMedium,
    readonly offset: number,
    readonly bootSector: BootSector,
    readonly fsInfo: FsInfo | null,
  ) {
    const bps = bootSector.bytesPerSector;
    this.clusterSize = bps * bootSector.sectorsPerCluster;
    this.fatStart = offset + bootSector.reservedSectors * bps;
    const dataSector = bootSector.reservedSectors + bootSector.fatCount * bootSector.sectorsPerFat32;
    this.dataStart = offset + dataSector * bps;
    this.clusterCount = Math.floor((bootSector.totalSectors32 - dataSector) / bootSector.sectorsPerCluster);
  }

  /** Open the FAT32 volume that starts at byte `offset` and spans at most `length` bytes. */
  static async open(medium: ReadableMedium, offset: number, length = medium.size - offset): Promise<Fat32Volume> {
    const sector = await readExactly(medium, offset, SECTOR_SIZE);
    const boot = decodeBootSector(sector);
    const at = `boot sector at byte ${offset}`;
    if (!boot.signature) throw invalid('no boot-sector signature (55 AA): this is not a FAT volume', at);
    if (![512, 1024, 2048, 4096].includes(boot.bytesPerSector)) {
      throw invalid(`${boot.bytesPerSector} bytes per sector is not valid FAT`, at);
    }
    if (![1, 2, 4, 8, 16, 32, 64, 128].includes(boot.sectorsPerCluster)) {
      throw invalid(`${boot.sectorsPerCluster} sectors per cluster is not valid FAT`, at);
    }
    if (boot.reservedSectors < 1 || boot.fatCount < 1) throw invalid('no reserved sectors or no FAT', at);
    if (boot.rootEntries !== 0 || boot.sectorsPerFat16 !== 0 || boot.sectorsPerFat32 === 0) {
      throw invalid('this is FAT12 or FAT16, not FAT32', at, 'format the partition as FAT32');
    }
    const volumeBytes = boot.totalSectors32 * boot.bytesPerSector;
    if (boot.totalSectors32 === 0 || volumeBytes > length) {
      throw invalid(
        `the volume claims ${volumeBytes} bytes but only ${length} are there`,
        at,
        'the image or card is truncated, or the partition table is wrong',
      );
    }
    let fsInfo: FsInfo | null = null;
    if (boot.fsInfoSector > 0 && boot.fsInfoSector < boot.reservedSectors) {
      const info = decodeFsInfo(
        await readExactly(medium, offset + boot.fsInfoSector * boot.bytesPerSector, SECTOR_SIZE),
      );
      if (info.valid) fsInfo = info;
    }
    const volume = new Fat32Volume(medium, offset, boot, fsInfo);
    if (fsInfo === null) volume.warnings.push('the FSInfo sector is missing or has bad signatures');
    const fatEntries = (boot.sectorsPerFat32 * boot.bytesPerSector) / 4;
    if (volume.clusterCount < MIN_FAT32_CLUSTERS) {
      throw invalid(`${volume.clusterCount} clusters is too few for FAT32 (at least ${MIN_FAT32_CLUSTERS})`, at);
    }
    if (fatEntries < volume.clusterCount + 2) {
      throw invalid(
        `the FAT has ${fatEntries} entries, fewer than the ${volume.clusterCount + 2} the clusters need`,
        at,
      );
    }
    if (!volume.isDataCluster(boot.rootCluster))
      throw invalid(`the root cluster ${boot.rootCluster} is out of range`, at);
    if (boot.backupBootSector > 0 && boot.backupBootSector < boot.reservedSectors) {
      const backup = await readExactly(medium, offset + boot.backupBootSector * boot.bytesPerSector, SECTOR_SIZE);
      if (!backup.equals(sector))
        volume.warnings.push(`the backup boot sector (sector ${boot.backupBootSector}) differs from the boot sector`);
    }
    return volume;
  }

  isDataCluster(cluster: number): boolean {
    return cluster >= 2 && cluster < this.clusterCount + 2;
  }

  /** Byte position of a cluster on the medium. */
  clusterPosition(cluster: number): number {
    return this.dataStart + (cluster - 2) * this.clusterSize;
  }

  async fatEntry(cluster: number): Promise<number> {
    const byte = cluster * 4;
    const block = Math.floor(byte / Fat32Volume.FAT_BLOCK);
    let data = this.fatCache.get(block);
    if (data === undefined) {
      const fatBytes = this.bootSector.sectorsPerFat32 * this.bootSector.bytesPerSector;
      const length = Math.min(Fat32Volume.FAT_BLOCK, fatBytes - block * Fat32Volume.FAT_BLOCK);
      data = await readExactly(this.medium, this.fatStart + block * Fat32Volume.FAT_BLOCK, length);
      if (this.fatCache.size >= 64) this.fatCache.delete(this.fatCache.keys().next().value as number);
      this.fatCache.set(block, data);
    }
    return data.readUInt32LE(byte - block * Fat32Volume.FAT_BLOCK) & FAT_ENTRY_MASK;
  }

  /**
   * The clusters of a chain, as runs of consecutive clusters. Stops with an error on a free or
   * bad cluster inside the chain, a number out of range, a loop, or more than `maxClusters`.
   */
  async chain(first: number, maxClusters: number, what: string): Promise<Run[]> {
    const runs: Run[] = [];
    const seen = new Set<number>();
    let cluster = first;
    for (;;) {
      if (!this.isDataCluster(cluster)) {
        throw invalid(`the cluster chain of ${what} reaches cluster ${cluster}, which is out of range`, what);
      }
      if (seen.has(cluster)) throw invalid(`the cluster chain of ${what} loops back to cluster ${cluster}`, what);
      seen.add(cluster);
      if (seen.size > maxClusters) {
        throw invalid(`the cluster chain of ${what} is longer than its size allows (${maxClusters} clusters)`, what);
      }
      const last = runs[runs.length - 1];
      if (last !== undefined && last.cluster + last.count === cluster) last.count += 1;
      else runs.push({ cluster, count: 1 });
      const next = await this.fatEntry(cluster);
      if (next >= 0x0ffffff8) return runs;
      if (next === 0)
        throw invalid(`the cluster chain of ${what} breaks at cluster ${cluster}: its FAT entry says free`, what);
      if (next === FAT_BAD_CLUSTER)
        throw invalid(`the cluster chain of ${what} runs into a bad cluster after ${cluster}`, what);
      cluster = next;
    }
  }

  async readDirectoryAt(firstCluster: number, path: string): Promise<FatEntry[]> {
    const maxClusters = Math.ceil((MAX_DIRECTORY_ENTRIES * DIRECTORY_ENTRY_SIZE) / this.clusterSize);
    const runs = await this.chain(firstCluster, maxClusters, `the folder "${displayText(path)}"`);
    const entries: FatEntry[] = [];
    let longUnits: number[][] = [];
    let expected = 0;
    let checksum = -1;
    for (const run of runs) {
      const position = this.clusterPosition(run.cluster);
      const data = await readExactly(this.medium, position, run.count * this.clusterSize);
      for (let at = 0; at < data.length; at += DIRECTORY_ENTRY_SIZE) {
        const first = data[at] ?? 0;
        if (first === 0x00) return entries;
        const attributes = data[at + 11] ?? 0;
        if (first === 0xe5) {
          expected = 0;
          continue;
        }
        if ((attributes & 0x3f) === ATTR_LONG_NAME) {
          const ordinal = first & 0x3f;
          if (first & 0x40) {
            longUnits = [];
            expected = ordinal;
            checksum = data[at + 13] ?? -1;
          } else if (ordinal !== expected - 1 || data[at + 13] !== checksum) {
            this.warnings.push(`orphaned long-name entry in "${displayText(path)}" at byte ${position + at}`);
            expected = 0;
            continue;
          } else {
            expected = ordinal;
          }
          longUnits[ordinal - 1] = longEntryUnits(data, at);
          continue;
        }
        const nameBytes = data.subarray(at, at + 11);
        const shortName = readShortName(nameBytes, data[at + 12] ?? 0);
        let longName: string | null = null;
        if (expected === 1 && longUnits.length > 0 && shortNameChecksum(nameBytes) === checksum) {
          const units = longUnits.flat();
          const end = units.indexOf(0);
          longName = String.fromCharCode(...(end === -1 ? units : units.slice(0, end)));
        } else if (expected !== 0) {
          this.warnings.push(
            `long name in "${displayText(path)}" does not match its short entry ${displayText(shortName)}`,
          );
        }
        expected = 0;
        longUnits = [];
        if (attributes & ATTR_VOLUME_ID) continue;
        if (shortName === '.' || shortName === '..') continue;
        entries.push({
          name: longName ?? shortName,
          shortName,
          hasLongName: longName !== null,
          isDirectory: (attributes & ATTR_DIRECTORY) !== 0,
          attributes,
          firstCluster: ((data.readUInt16LE(at + 20) << 16) | data.readUInt16LE(at + 26)) >>> 0,
          size: data.readUInt32LE(at + 28),
          mtime: fromFatTimestamp(data.readUInt16LE(at + 24), data.readUInt16LE(at + 22)),
          entryOffset: position + at,
        });
      }
    }
    return entries;
  }

  /** The volume label from the boot sector. */
  get label(): string {
    return this.bootSector.volumeLabel;
  }

  async list(path = ''): Promise<FatEntry[]> {
    if (path === '' || path === '/') return this.readDirectoryAt(this.bootSector.rootCluster, '/');
    const entry = await this.stat(path);
    if (!entry.isDirectory)
      throw new AppError('invalid-input', `"${displayText(path)}" is a file, not a folder`, {
        location: displayText(path),
      });
    return this.readDirectoryAt(entry.firstCluster, path);
  }

  /** Look a path up case-insensitively, as FAT does. */
  async stat(path: string): Promise<FatEntry> {
    const parts = path.split('/').filter((part) => part.length > 0);
    let cluster = this.bootSector.rootCluster;
    let found: FatEntry | undefined;
    let walked = '';
    for (const part of parts) {
      const entries = await this.readDirectoryAt(cluster, walked === '' ? '/' : walked);
      walked = walked === '' ? part : `${walked}/${part}`;
      const folded = foldName(part);
      found = entries.find((entry) => foldName(entry.name) === folded || foldName(entry.shortName) === folded);
      if (found === undefined)
        throw new AppError('not-found', `"${displayText(walked)}" is not on the volume`, {
          location: displayText(walked),
        });
      cluster = found.firstCluster;
    }
    if (found === undefined) throw new AppError('invalid-input', 'the root folder has no entry of its own');
    return found;
  }

  /** The file's data in pieces of at most 1 MiB. */
  async *read(entry: FatEntry, path = entry.name): AsyncGenerator<Buffer> {
    if (entry.isDirectory)
      throw new AppError('invalid-input', `"${displayText(path)}" is a folder`, { location: displayText(path) });
    if (entry.size === 0) {
      if (entry.firstCluster !== 0)
        this.warnings.push(`the empty file "${displayText(path)}" has cluster ${entry.firstCluster}`);
      return;
    }
    const needed = Math.ceil(entry.size / this.clusterSize);
    const runs = await this.chain(entry.firstCluster, needed, `"${displayText(path)}"`);
    const total = runs.reduce((sum, run) => sum + run.count, 0);
    if (total < needed) {
      throw invalid(
        `"${displayText(path)}" is ${entry.size} bytes but its cluster chain holds only ${total * this.clusterSize}`,
        path,
      );
    }
    let left = entry.size;
    for (const run of runs) {
      let position = this.clusterPosition(run.cluster);
      let runLeft = Math.min(left, run.count * this.clusterSize);
      while (runLeft > 0) {
        const count = Math.min(runLeft, 1 << 20);
        yield await readExactly(this.medium, position, count);
        position += count;
        runLeft -= count;
        left -= count;
      }
    }
  }

  async readFile(path: string): Promise<Buffer> {
    const entry = await this.stat(path);
    const parts: Buffer[] = [];
    for await (const part of this.read(entry, path)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** Every file and folder, depth first, with its full path. */
  walk(): AsyncGenerator<{ path: string; entry: FatEntry }> {
    return this.walkAt(this.bootSector.rootCluster, '');
  }

  private async *walkAt(cluster: number, path: string): AsyncGenerator<{ path: string; entry: FatEntry }> {
    for (const entry of await this.readDirectoryAt(cluster, path === '' ? '/' : path)) {
      const child = path === '' ? entry.name : `${path}/${entry.name}`;
      yield { path: child, entry };
      if (entry.isDirectory) yield* this.walkAt(entry.firstCluster, child);
    }
  }
}
