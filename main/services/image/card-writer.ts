import { AppError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import type { BlockTarget } from '../flash/block-target.js';
import {
  MAX_PARTITION_SECTORS,
  PARTITION_START_BYTES,
  PARTITION_START_LBA,
  PARTITION_TYPE_FAT32_LBA,
  SECTOR_SIZE,
} from './constants.js';
import { Fat32Builder, type Fat32BuildStats } from './fat32-builder.js';
import { computeFat32Geometry, type Fat32Geometry } from './fat32-geometry.js';
import { encodeMbr } from './mbr.js';
import type { MediaEntry } from './media-entry.js';

export interface CardIdentity {
  volumeId: number;
  diskSignature: number;
}

export interface WriteCardOptions {
  target: BlockTarget;
  /** Partition size in bytes (rounded down to whole sectors); default: the rest of the target. */
  partitionBytes?: number;
  entries: AsyncIterable<MediaEntry>;
  volumeLabel: string | null;
  /** Root folder timestamp (Unix seconds). */
  defaultMtime: number;
  /** Asked once every entry has been consumed: serial numbers derived from the content. */
  identity: () => CardIdentity;
  /** Told when the streaming part is done and the metadata is being written. */
  onFinalize?: () => void;
}

export interface CardLayout {
  partitionStartLba: number;
  partitionSectors: number;
  geometry: Fat32Geometry;
}

export interface WriteCardResult {
  layout: CardLayout;
  stats: Fat32BuildStats;
  identity: CardIdentity;
}

const STALE_SIGNATURE_AREA = 1 << 20;
/**
 * What is wiped at the end of the target: a GPT's backup header and partition array (the last
 * 33 sectors) and an md RAID 0.90 superblock (in the last 128 KiB), without writing a whole MiB
 * more than the card needs.
 */
const STALE_TAIL_AREA = 128 << 10;

/**
 * The FAT32 volume at `volumeOffset`: every media entry in order, then (once `onFinalize` was
 * told) folders, FATs and the boot sector, and a flush.
 */
export async function writeFatVolume(
  target: BlockTarget,
  volumeOffset: number,
  geometry: Fat32Geometry,
  options: Pick<WriteCardOptions, 'entries' | 'volumeLabel' | 'defaultMtime' | 'identity' | 'onFinalize'>,
): Promise<{ stats: Fat32BuildStats; identity: CardIdentity }> {
  const builder = new Fat32Builder({
    target,
    volumeOffset,
    geometry,
    volumeLabel: options.volumeLabel,
    defaultMtime: options.defaultMtime,
  });
  for await (const entry of options.entries) {
    if (entry.kind === 'directory') builder.addDirectory(entry.path, entry.mtime);
    else if (entry.kind === 'file') await builder.addFile(entry.path, entry.size, entry.mtime, entry.body);
    else builder.addLink(entry.path, entry.target, entry.mtime, entry.hard);
  }
  options.onFinalize?.();
  const identity = options.identity();
  const stats = await builder.finish(identity.volumeId);
  await target.flush();
  return { stats, identity };
}

/** Where the partition goes on a target of `targetBytes` bytes. */
export function planCardLayout(targetBytes: number, partitionBytes?: number): CardLayout {
  const available = Math.floor(targetBytes / SECTOR_SIZE) - PARTITION_START_LBA;
  const wanted = partitionBytes === undefined ? available : Math.floor(partitionBytes / SECTOR_SIZE);
  if (wanted > available) {
    throw new AppError(
      'too-small',
      `a ${formatBytes(wanted * SECTOR_SIZE)} partition does not fit on ${formatBytes(targetBytes)} (the first MiB holds the partition table)`,
      { hint: 'choose a smaller --size or a larger target' },
    );
  }
  if (partitionBytes !== undefined && wanted > MAX_PARTITION_SECTORS) {
    throw new AppError(
      'invalid-input',
      `a ${formatBytes(wanted * SECTOR_SIZE)} partition is larger than an MBR can address: the largest is 2 TiB - 1 MiB (${MAX_PARTITION_SECTORS} sectors), as the first MiB holds the partition table`,
      { location: '--size', hint: `use --size ${MAX_PARTITION_SECTORS / 2048}MiB or less` },
    );
  }
  // A whole device larger than 2 TiB gets the largest partition an MBR can address.
  const partitionSectors = Math.min(wanted, MAX_PARTITION_SECTORS);
  return { partitionStartLba: PARTITION_START_LBA, partitionSectors, geometry: computeFat32Geometry(partitionSectors) };
}

/**
 * Write a whole card: MBR with one FAT32 partition at 1 MiB holding the media entries.
 *
 * Order, so that an interrupted write never leaves a card that looks valid: first the old
 * partition table, GPT and filesystem signatures are wiped (first MiB, the partition's first
 * MiB, the last 128 KiB of the target); then file data streams in; then folders, FATs and the boot
 * sector; a flush; and only then the MBR, followed by a final flush.
 */
export async function writeCard(options: WriteCardOptions): Promise<WriteCardResult> {
  const { target } = options;
  const layout = planCardLayout(target.size, options.partitionBytes);
  const partitionEnd = PARTITION_START_BYTES + layout.partitionSectors * SECTOR_SIZE;

  const head = Math.min(PARTITION_START_BYTES + STALE_SIGNATURE_AREA, partitionEnd);
  await target.zero(0, head);
  // The end of the target too, even where the new partition reaches it (its end is free space
  // until data lands there): a GPT keeps its backup header in the last sector.
  const tail = Math.max(head, target.size - STALE_TAIL_AREA);
  if (tail < target.size) await target.zero(tail, target.size - tail);

  const { stats, identity } = await writeFatVolume(target, PARTITION_START_BYTES, layout.geometry, options);
  const mbr = target.allocate(SECTOR_SIZE);
  encodeMbr({
    diskSignature: identity.diskSignature,
    partitions: [
      {
        start: layout.partitionStartLba,
        sectors: layout.partitionSectors,
        type: PARTITION_TYPE_FAT32_LBA,
        bootable: true,
      },
    ],
  }).copy(mbr);
  await target.write(mbr, 0);
  await target.flush();
  return { layout, stats, identity };
}
