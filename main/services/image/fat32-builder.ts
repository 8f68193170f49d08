import { AppError } from '../../../shared/errors.js';
import { describeFileSpace, formatBytes } from '../../../shared/model/size.js';
import { displayText } from '../../../shared/rules/display.js';
import type { BlockTarget } from '../flash/block-target.js';
import { MAX_PARTITION_SECTORS, SECTOR_SIZE } from './constants.js';
import { DirectoryPlan } from './directory-encoder.js';
import { FAT_END_OF_CHAIN, FAT_ENTRY_SIZE, fillFatEntries, type Extent } from './fat-table.js';
import { PendingLinks } from './fat-links.js';
import { FatTree, type DirectoryNode, type FileNode } from './fat-tree.js';
import {
  BACKUP_BOOT_SECTOR,
  FSINFO_SECTOR,
  ROOT_CLUSTER,
  encodeBootSector,
  encodeFsInfo,
} from './fat32-boot-sector.js';
import { clusterOffset, computeFat32Geometry, type Fat32Geometry } from './fat32-geometry.js';
import { SequentialWriter } from './sequential-writer.js';

export interface Fat32BuilderOptions {
  target: BlockTarget;
  /** Byte offset of the volume on the target (the partition start). */
  volumeOffset: number;
  geometry: Fat32Geometry;
  /** Volume label, up to 11 upper-case characters; null for none. */
  volumeLabel: string | null;
  /** Timestamp (Unix seconds) of the root folder until the media gives one. */
  defaultMtime: number;
}

export interface Fat32BuildStats {
  files: number;
  directories: number;
  /** Bytes of file data. */
  fileBytes: number;
  clusterSize: number;
  clusterCount: number;
  usedClusters: number;
  freeBytes: number;
  volumeId: number;
}

/** Raised when the media does not fit; carries what it would need. */
export class PayloadTooLargeError extends AppError {
  constructor(
    readonly neededBytes: number,
    /** Room for files: the cluster heap. */
    readonly availableBytes: number,
    readonly suggestedPartitionBytes: number | null,
    readonly partitionBytes: number,
  ) {
    super(
      'too-small',
      `the boot files need ${formatBytes(neededBytes)}, more than the partition holds (${formatBytes(partitionBytes)} FAT32 partition: ${describeFileSpace(partitionBytes, availableBytes)})`,
      {
        hint:
          suggestedPartitionBytes === null
            ? 'the files do not fit even in the largest partition an MBR can address (2 TiB)'
            : `use a partition of at least ${formatBytes(suggestedPartitionBytes)} (--size)`,
      },
    );
  }
}

const SECTORS_PER_MIB = (1 << 20) / SECTOR_SIZE;
const COPY_PIECE = 1 << 20;

/**
 * Builds a FAT32 volume in one pass. File data goes to consecutive clusters as it arrives
 * (each file contiguous); folders, the FATs, FSInfo and the boot sectors are written by
 * finish(), the boot sector last, so an interrupted build leaves no valid volume header.
 */
export class Fat32Builder {
  private readonly tree: FatTree;
  private readonly geometry: Fat32Geometry;
  private readonly writer: SequentialWriter;
  /** Next free cluster; cluster 2 is kept for the root folder. */
  private nextCluster = ROOT_CLUSTER + 1;
  private readonly extents: Extent[] = [];
  private readonly links = new PendingLinks();
  /** Every file size seen, to say how large a partition would be needed. */
  private readonly fileSizes: number[] = [];
  private overflow = false;
  private fileCount = 0;
  private fileBytes = 0;

  constructor(private readonly options: Fat32BuilderOptions) {
    this.geometry = options.geometry;
    this.tree = new FatTree(options.defaultMtime);
    this.writer = new SequentialWriter(options.target, this.position(this.nextCluster));
  }

  private position(cluster: number): number {
    return this.options.volumeOffset + clusterOffset(this.geometry, cluster);
  }

  private get clusterEnd(): number {
    return ROOT_CLUSTER + this.geometry.clusterCount;
  }

  addDirectory(path: string, mtime: number): void {
    this.tree.touchDirectory(path, mtime);
  }

  async addFile(path: string, size: number, mtime: number, body: AsyncIterable<Uint8Array>): Promise<void> {
    const { parent, name } = this.replace(path, mtime);
    const clusterSize = this.geometry.clusterSize;
    const clusters = Math.ceil(size / clusterSize);
    this.fileSizes.push(size);
    this.fileCount += 1;
    this.fileBytes += size;
    if (!this.overflow && this.nextCluster + clusters > this.clusterEnd) this.overflow = true;
    if (this.overflow) {
      // Keep reading so that the error can say how much space the whole media needs.
      for await (const chunk of body) void chunk;
      return;
    }
    const firstCluster = clusters === 0 ? 0 : this.nextCluster;
    const start = this.writer.position;
    for await (const chunk of body) {
      if (this.writer.position - start + chunk.length > size) {
        throw new AppError('invalid-media', `"${displayText(path)}" holds more data than its declared ${size} bytes`, {
          location: displayText(path),
        });
      }
      await this.writer.write(chunk);
    }
    const written = this.writer.position - start;
    if (written !== size) {
      throw new AppError('invalid-media', `"${displayText(path)}" ended after ${written} of its ${size} bytes`, {
        location: displayText(path),
        hint: 'the boot media is truncated or corrupt; download it again',
      });
    }
    await this.writer.pad(clusterSize);
    const extent = clusters === 0 ? null : { start: firstCluster, count: clusters, next: FAT_END_OF_CHAIN };
    if (extent !== null) this.extents.push(extent);
    this.nextCluster += clusters;
    const node: FileNode = { kind: 'file', name, path, mtime, size, firstCluster, extent };
    this.tree.addFile(parent, node);
  }

  /**
   * A link in the media: FAT has none, so finish() stores a copy of the file it resolves to. A
   * hard link names its target as it is now (as tar extracts it); a symbolic one is followed
   * at the end.
   */
  addLink(path: string, target: string, mtime: number, hard: boolean): void {
    const bound = hard ? (this.tree.find(target) ?? null) : null;
    const { parent, name } = this.replace(path, mtime);
    const node: FileNode = { kind: 'file', name, path, mtime, size: 0, firstCluster: 0, extent: null };
    this.tree.addFile(parent, node);
    this.links.add(node, { path, target, bound });
  }

  /**
   * Where a new file or link at `path` goes. The file or link already there, if any, is
   * released: a later member of the same path replaces an earlier one, as tar extracts them.
   * Its clusters become free (their data stays until the end, for hard links that name it).
   */
  private replace(path: string, mtime: number): { parent: DirectoryNode; name: string } {
    const { parent, name, previous } = this.tree.placeFile(path, mtime);
    if (previous !== null && !this.links.drop(previous)) {
      if (previous.extent !== null) previous.extent.count = 0;
      this.fileCount -= 1;
      this.fileBytes -= previous.size;
    }
    return { parent, name };
  }

  /** Write links, folders, FATs, FSInfo and boot sectors; the volume is complete afterwards. */
  async finish(volumeId: number): Promise<Fat32BuildStats> {
    await this.writer.flush();
    await this.copyLinks();
    const plans = this.tree
      .directories()
      .map((directory) => new DirectoryPlan(directory, directory.parent === null ? this.options.volumeLabel : null));
    this.assignDirectoryClusters(plans);
    if (this.overflow || this.nextCluster > this.clusterEnd) throw this.tooLarge(plans);
    await this.writeDirectories(plans);
    this.extents.sort((left, right) => left.start - right.start);
    await this.writeFats();
    const usedClusters = this.extents.reduce((sum, extent) => sum + extent.count, 0);
    const freeClusters = this.geometry.clusterCount - usedClusters;
    await this.writeReservedArea(volumeId, freeClusters);
    return {
      files: this.fileCount,
      directories: plans.length - 1,
      fileBytes: this.fileBytes,
      clusterSize: this.geometry.clusterSize,
      clusterCount: this.geometry.clusterCount,
      usedClusters,
      freeBytes: freeClusters * this.geometry.clusterSize,
      volumeId,
    };
  }

  /** Give each link still in the tree a copy of the file it resolves to. */
  private async copyLinks(): Promise<void> {
    const nodes = this.links.nodes();
    if (nodes.length === 0) return;
    const writer = new SequentialWriter(this.options.target, this.position(this.nextCluster));
    for (const node of nodes) {
      // Always a file the media carried, written and flushed before this: never another link's
      // copy, which may still sit in the writer's buffers.
      const source = this.links.resolve(node, this.tree);
      const clusters = Math.ceil(source.size / this.geometry.clusterSize);
      this.fileSizes.push(source.size);
      this.fileCount += 1;
      this.fileBytes += source.size;
      if (this.overflow || this.nextCluster + clusters > this.clusterEnd) {
        this.overflow = true;
        continue;
      }
      const from = this.position(source.firstCluster);
      for (let done = 0; done < source.size; done += COPY_PIECE) {
        const count = Math.min(COPY_PIECE, source.size - done);
        // A fresh buffer per piece: the writer may hold on to it until its write is done.
        const buffer = this.options.target.allocate(count);
        const read = await this.options.target.read(buffer, from + done);
        if (read !== count)
          throw new AppError('io', `short read copying "${displayText(source.path)}" for "${displayText(node.path)}"`);
        await writer.write(buffer);
      }
      await writer.pad(this.geometry.clusterSize);
      node.size = source.size;
      node.firstCluster = clusters === 0 ? 0 : this.nextCluster;
      node.extent = clusters === 0 ? null : { start: node.firstCluster, count: clusters, next: FAT_END_OF_CHAIN };
      if (node.extent !== null) this.extents.push(node.extent);
      this.nextCluster += clusters;
      this.links.settle(node);
    }
    await writer.flush();
  }

  private assignDirectoryClusters(plans: DirectoryPlan[]): void {
    const clusterSize = this.geometry.clusterSize;
    for (const plan of plans) {
      const clusters = Math.max(1, Math.ceil(plan.bytes() / clusterSize));
      const directory = plan.directory;
      if (directory.parent === null) {
        directory.firstCluster = ROOT_CLUSTER;
        const rest = clusters - 1;
        const head: Extent = { start: ROOT_CLUSTER, count: 1, next: rest > 0 ? this.nextCluster : FAT_END_OF_CHAIN };
        directory.extents = [head];
        if (rest > 0) directory.extents.push({ start: this.nextCluster, count: rest, next: FAT_END_OF_CHAIN });
        this.nextCluster += rest;
      } else {
        directory.firstCluster = this.nextCluster;
        directory.extents = [{ start: this.nextCluster, count: clusters, next: FAT_END_OF_CHAIN }];
        this.nextCluster += clusters;
      }
    }
  }

  private async writeDirectories(plans: DirectoryPlan[]): Promise<void> {
    const clusterSize = this.geometry.clusterSize;
    const tail = plans.flatMap((plan) => plan.directory.extents).filter((extent) => extent.start !== ROOT_CLUSTER);
    const writer = new SequentialWriter(this.options.target, this.position(tail[0]?.start ?? this.nextCluster), {
      bufferSize: 1 << 20,
    });
    for (const plan of plans) {
      const directory: DirectoryNode = plan.directory;
      const clusters = directory.extents.reduce((sum, extent) => sum + extent.count, 0);
      const content = Buffer.alloc(clusters * clusterSize);
      plan.encode(content);
      let offset = 0;
      for (const extent of directory.extents) {
        const part = content.subarray(offset, offset + extent.count * clusterSize);
        if (extent.start === ROOT_CLUSTER) {
          const aligned = this.options.target.allocate(part.length);
          part.copy(aligned);
          await this.options.target.write(aligned, this.position(ROOT_CLUSTER));
        } else {
          await writer.write(part);
        }
        offset += part.length;
      }
      this.extents.push(...directory.extents);
    }
    await writer.flush();
  }

  private async writeFats(): Promise<void> {
    const target = this.options.target;
    const fatBytes = this.geometry.sectorsPerFat * SECTOR_SIZE;
    const fatStart = this.options.volumeOffset + this.geometry.reservedSectors * SECTOR_SIZE;
    const usedBytes = Math.min(fatBytes, Math.ceil((this.nextCluster * FAT_ENTRY_SIZE) / SECTOR_SIZE) * SECTOR_SIZE);
    const chunk = target.allocate(Math.min(1 << 20, usedBytes));
    for (let done = 0; done < usedBytes; done += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, usedBytes - done));
      fillFatEntries(this.extents, done / FAT_ENTRY_SIZE, part);
      for (let copy = 0; copy < this.geometry.fatCount; copy += 1) {
        await target.write(part, fatStart + copy * fatBytes + done);
      }
    }
    for (let copy = 0; copy < this.geometry.fatCount; copy += 1) {
      await target.zero(fatStart + copy * fatBytes + usedBytes, fatBytes - usedBytes);
    }
  }

  private async writeReservedArea(volumeId: number, freeClusters: number): Promise<void> {
    const area = this.options.target.allocate(this.geometry.reservedSectors * SECTOR_SIZE);
    area.fill(0);
    const boot = encodeBootSector({
      geometry: this.geometry,
      hiddenSectors: this.options.volumeOffset / SECTOR_SIZE,
      volumeId,
      volumeLabel: this.options.volumeLabel ?? 'NO NAME',
    });
    const fsInfo = encodeFsInfo({
      freeClusters,
      nextFreeCluster: this.nextCluster < this.clusterEnd ? this.nextCluster : 0xffffffff,
    });
    boot.copy(area, 0);
    fsInfo.copy(area, FSINFO_SECTOR * SECTOR_SIZE);
    boot.copy(area, BACKUP_BOOT_SECTOR * SECTOR_SIZE);
    fsInfo.copy(area, (BACKUP_BOOT_SECTOR + 1) * SECTOR_SIZE);
    await this.options.target.write(area, this.options.volumeOffset);
  }

  private tooLarge(plans: DirectoryPlan[]): PayloadTooLargeError {
    const clustersNeeded = (clusterSize: number): number =>
      this.fileSizes.reduce((sum, size) => sum + Math.ceil(size / clusterSize), 0) +
      plans.reduce((sum, plan) => sum + Math.max(1, Math.ceil(plan.bytes() / clusterSize)), 0);
    const fits = (mebibytes: number): boolean => {
      const geometry = computeFat32Geometry(Math.min(MAX_PARTITION_SECTORS, mebibytes * SECTORS_PER_MIB));
      return clustersNeeded(geometry.clusterSize) <= geometry.clusterCount;
    };
    const clusterSize = this.geometry.clusterSize;
    const neededBytes = clustersNeeded(clusterSize) * clusterSize;
    // The smallest whole number of MiB whose own geometry holds everything, plus 10% headroom
    // for lbu commits and the apk cache.
    let low = Math.ceil(this.geometry.totalSectors / SECTORS_PER_MIB);
    let high = Math.ceil(MAX_PARTITION_SECTORS / SECTORS_PER_MIB);
    let suggested: number | null = null;
    if (fits(high)) {
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if (fits(middle)) high = middle;
        else low = middle + 1;
      }
      suggested = Math.min(Math.ceil(high * 1.1), Math.ceil(MAX_PARTITION_SECTORS / SECTORS_PER_MIB)) * (1 << 20);
    }
    return new PayloadTooLargeError(
      neededBytes,
      this.geometry.clusterCount * clusterSize,
      suggested,
      this.geometry.totalSectors * SECTOR_SIZE,
    );
  }
}
