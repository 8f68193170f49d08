import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { Fat32Volume, readMbr, type FatEntry, type Run } from '../../main/services/image/fat-reader.js';

/**
 * Deliberate damage to a card image, for the tests of the FAT checker: each helper changes a
 * few bytes of the image file in place, found with the project's reader (geometry, paths and
 * chains), so that the same damage can be shown to fsck.fat and to the checker.
 */

export const END_OF_CHAIN = 0x0fff_ffff;

export interface FatImage {
  volume: Fat32Volume;
  /** Byte offset of the partition in the image. */
  partitionOffset: number;
  /** Byte offset of FAT number `copy` (0 = the first). */
  fatOffset(copy: number): number;
  stat(path: string): Promise<FatEntry>;
  /** The clusters of a file or folder, as the reader walks them. */
  runs(path: string): Promise<Run[]>;
  /** A file's clusters in chain order. */
  clusters(path: string): Promise<number[]>;
  entry(cluster: number, copy?: number): Promise<number>;
  /** Set a FAT entry in every copy, or in one. */
  setEntry(cluster: number, value: number, copy?: number): Promise<void>;
  write(position: number, bytes: Buffer): Promise<void>;
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Open the first partition of an image for changes. */
export async function openFatImage(image: string): Promise<FatImage> {
  const handle = await fs.open(image, 'r+');
  // An image file, or a block device (a loop device standing in for a card).
  const info = await handle.stat();
  const size = info.isBlockDevice()
    ? Number(execFileSync('blockdev', ['--getsize64', image], { encoding: 'utf8' }).trim())
    : info.size;
  const medium = {
    size,
    read: async (buffer: Buffer, position: number) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    close: () => Promise.resolve(),
  };
  const mbr = await readMbr(medium);
  const partition = mbr?.partitions[0];
  if (partition === undefined) throw new Error(`${image} has no partition`);
  const partitionOffset = partition.start * 512;
  const volume = await Fat32Volume.open(medium, partitionOffset, partition.sectors * 512);
  const boot = volume.bootSector;
  const fatOffset = (copy: number): number =>
    partitionOffset + (boot.reservedSectors + copy * boot.sectorsPerFat32) * boot.bytesPerSector;
  const read = async (position: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, position);
    return buffer;
  };
  const write = async (position: number, bytes: Buffer): Promise<void> => {
    await handle.write(bytes, 0, bytes.length, position);
  };
  const runs = async (path: string): Promise<Run[]> => {
    const entry = await volume.stat(path);
    return volume.chain(entry.firstCluster, volume.clusterCount, path);
  };
  return {
    volume,
    partitionOffset,
    fatOffset,
    stat: (path) => volume.stat(path),
    runs,
    clusters: async (path) =>
      (await runs(path)).flatMap((run) => Array.from({ length: run.count }, (_, index) => run.cluster + index)),
    entry: async (cluster, copy = 0) => (await read(fatOffset(copy) + cluster * 4, 4)).readUInt32LE(0),
    async setEntry(cluster, value, copy) {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(value >>> 0);
      const copies = copy === undefined ? Array.from({ length: boot.fatCount }, (_, index) => index) : [copy];
      for (const each of copies) await write(fatOffset(each) + cluster * 4, bytes);
    },
    write,
    read,
    async close() {
      await handle.close();
      await medium.close();
    },
  };
}

async function withImage<T>(image: string, change: (fat: FatImage) => Promise<T>): Promise<T> {
  const fat = await openFatImage(image);
  try {
    return await change(fat);
  } finally {
    await fat.close();
  }
}

/** The last cluster of `from` points into the first cluster of `into`: both files share `into`'s clusters. */
export function crossLink(image: string, from: string, into: string): Promise<number> {
  return withImage(image, async (fat) => {
    const last = (await fat.clusters(from)).at(-1)!;
    const target = (await fat.stat(into)).firstCluster;
    await fat.setEntry(last, target);
    return target;
  });
}

/** Mark `count` free clusters from `first` as one allocated chain that no entry names (lost clusters). */
export function markAllocated(image: string, first: number, count: number): Promise<void> {
  return withImage(image, async (fat) => {
    for (let cluster = first; cluster < first + count; cluster += 1) {
      if ((await fat.entry(cluster)) !== 0) throw new Error(`cluster ${cluster} is not free`);
      await fat.setEntry(cluster, cluster === first + count - 1 ? END_OF_CHAIN : cluster + 1);
    }
  });
}

/** End the chain of `path` after `keep` clusters; the rest is freed (free: true) or left allocated. */
export function truncateChain(image: string, path: string, keep: number, options = { free: true }): Promise<void> {
  return withImage(image, async (fat) => {
    const clusters = await fat.clusters(path);
    await fat.setEntry(clusters[keep - 1]!, END_OF_CHAIN);
    if (options.free) for (const cluster of clusters.slice(keep)) await fat.setEntry(cluster, 0);
  });
}

/** The last cluster of `path` points back to its `to`-th cluster (0: the first). */
export function makeLoop(image: string, path: string, to = 0): Promise<void> {
  return withImage(image, async (fat) => {
    const clusters = await fat.clusters(path);
    await fat.setEntry(clusters.at(-1)!, clusters[to]!);
  });
}

/** Mark the `index`-th cluster of `path` free in the FAT while the chain still runs through it. */
export function freeInsideChain(image: string, path: string, index: number): Promise<number> {
  return withImage(image, async (fat) => {
    const cluster = (await fat.clusters(path))[index]!;
    await fat.setEntry(cluster, 0);
    return cluster;
  });
}

/** Change one entry of the second FAT only. */
export function differFats(image: string, cluster: number, value: number): Promise<void> {
  return withImage(image, (fat) => fat.setEntry(cluster, value, 1));
}

/** Set the free-cluster count of the FSInfo sector (the count only, the signatures stay). */
export function setFsInfoFreeCount(image: string, freeClusters: number): Promise<void> {
  return withImage(image, async (fat) => {
    const boot = fat.volume.bootSector;
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(freeClusters >>> 0);
    await fat.write(fat.partitionOffset + boot.fsInfoSector * boot.bytesPerSector + 488, bytes);
  });
}

/** Change `count` bytes of the backup boot sector at `at` (inverted). */
export function damageBackupBootSector(image: string, at = 0x47, count = 4): Promise<void> {
  return withImage(image, async (fat) => {
    const boot = fat.volume.bootSector;
    const position = fat.partitionOffset + boot.backupBootSector * boot.bytesPerSector + at;
    const bytes = await fat.read(position, count);
    await fat.write(position, Buffer.from(bytes.map((byte) => byte ^ 0xff)));
  });
}

/** Write a new size into the directory entry of `path`. */
export function setFileSize(image: string, path: string, size: number): Promise<void> {
  return withImage(image, async (fat) => {
    const entry = await fat.stat(path);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(size >>> 0);
    await fat.write(entry.entryOffset + 28, bytes);
  });
}

/** Write a new first cluster into the directory entry of `path`. */
export function setFirstCluster(image: string, path: string, cluster: number): Promise<void> {
  return withImage(image, async (fat) => {
    const entry = await fat.stat(path);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt16LE((cluster >>> 16) & 0xffff, 0);
    bytes.writeUInt16LE(cluster & 0xffff, 2);
    await fat.write(entry.entryOffset + 20, bytes.subarray(0, 2));
    await fat.write(entry.entryOffset + 26, bytes.subarray(2, 4));
  });
}

/** Overwrite the 11-byte short name of `path`'s directory entry (its long name, if any, no longer matches). */
export function setShortName(image: string, path: string, name: string): Promise<void> {
  return withImage(image, async (fat) => {
    const entry = await fat.stat(path);
    await fat.write(entry.entryOffset, Buffer.from(name.padEnd(11, ' ').slice(0, 11), 'latin1'));
  });
}

/** Point the "." (`which` 0) or ".." (1) entry of the folder `path` at `cluster`. */
export function setDotEntry(image: string, path: string, which: 0 | 1, cluster: number): Promise<void> {
  return withImage(image, async (fat) => {
    const folder = await fat.stat(path);
    const at = fat.volume.clusterPosition(folder.firstCluster) + which * 32;
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16LE((cluster >>> 16) & 0xffff);
    await fat.write(at + 20, bytes);
    bytes.writeUInt16LE(cluster & 0xffff);
    await fat.write(at + 26, bytes);
  });
}
