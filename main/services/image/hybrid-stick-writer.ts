import { open } from 'node:fs/promises';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import { isoPartitionBootSector, type IsoPartitionPlan } from '../boot-media/iso-partition.js';
import type { BlockTarget } from '../flash/block-target.js';
import { writeFatVolume, type CardIdentity } from './card-writer.js';
import { MAX_MBR_SECTORS, PARTITION_START_LBA, PARTITION_TYPE_FAT32_LBA, SECTOR_SIZE } from './constants.js';
import type { Fat32BuildStats } from './fat32-builder.js';
import { computeFat32Geometry, MIN_FAT32_SECTORS, type Fat32Geometry } from './fat32-geometry.js';
import { encodeMbr } from './mbr.js';
import type { MediaEntry } from './media-entry.js';

/**
 * A USB stick that boots x86_64 PCs with BIOS and with UEFI:
 *
 *   sector 0    syslinux's mbr.bin, the disk signature and the partition table
 *   partition 1 (1 MiB, active, type 0x17) Alpine's ISO 9660 image, booted by BIOS through
 *               isohdppx.bin in its first sector and the ISO's own isolinux.bin; it holds the
 *               kernel, initramfs, modloop and the boot repository (apks/), read-only
 *   partition 2 (next MiB, type 0x0C) FAT32 with EFI/BOOT/BOOTX64.EFI (GRUB from the ISO: it
 *               searches the ISO's volume label, finds partition 1 and reads its grub.cfg),
 *               the apkovl, the apk cache and room for `lbu commit`
 *
 * Alpine's initramfs looks at the whole disk (no file system there), then partition 1 (the
 * boot repository) and partition 2 (the apkovl): exactly one apkovl, and the ISO's files are
 * read where they are. See iso-partition.ts for why the ISO is not written at sector 0.
 */

/** Hidden IFS: what isohybrid gives an ISO's partition, so desktops leave it alone. */
export const PARTITION_TYPE_ISO = 0x17;
const MIB_SECTORS = 2048;
const PIECE = 1 << 20;
const STALE_TAIL_AREA = 128 << 10;

export interface HybridStickLayout {
  iso: { startLba: number; sectors: number };
  fat: { startLba: number; sectors: number; geometry: Fat32Geometry };
}

/** Where the two partitions go on a target of `targetBytes` (the FAT partition: `fatBytes`, else the rest). */
export function planHybridLayout(targetBytes: number, isoBytes: number, fatBytes?: number): HybridStickLayout {
  const isoSectors = Math.ceil(isoBytes / SECTOR_SIZE);
  const fatStart = Math.ceil((PARTITION_START_LBA + isoSectors) / MIB_SECTORS) * MIB_SECTORS;
  const available = Math.min(Math.floor(targetBytes / SECTOR_SIZE), MAX_MBR_SECTORS) - fatStart;
  const wanted = fatBytes === undefined ? available : Math.floor(fatBytes / SECTOR_SIZE);
  if (wanted > available || wanted < MIN_FAT32_SECTORS) {
    const room = Math.max(0, available) * SECTOR_SIZE;
    throw new AppError(
      'too-small',
      fatBytes === undefined || wanted > available
        ? `the ISO (${formatBytes(isoBytes)}) and a ${formatBytes(Math.max(wanted, MIN_FAT32_SECTORS) * SECTOR_SIZE)} FAT32 partition do not fit on ${formatBytes(targetBytes)}; after the ISO there is room for ${formatBytes(room)}`
        : `a FAT32 partition needs at least ${formatBytes(MIN_FAT32_SECTORS * SECTOR_SIZE)}`,
      { hint: 'use a larger stick, or a smaller --size / boot.partition_size (nothing was written)' },
    );
  }
  return {
    iso: { startLba: PARTITION_START_LBA, sectors: isoSectors },
    fat: { startLba: fatStart, sectors: wanted, geometry: computeFat32Geometry(wanted) },
  };
}

/** Bytes an image file needs for the layout: up to the end of the FAT partition. */
export function hybridImageBytes(isoBytes: number, fatBytes: number): number {
  const layout = planHybridLayout(Number.MAX_SAFE_INTEGER, isoBytes, fatBytes);
  return (layout.fat.startLba + layout.fat.sectors) * SECTOR_SIZE;
}

export interface WriteHybridStickOptions {
  target: BlockTarget;
  iso: { path: string; plan: IsoPartitionPlan };
  /** syslinux's mbr.bin and isohdppx.bin. */
  bootCode: { mbr: Buffer; isoPartitionCode: Buffer };
  /** FAT partition size in bytes; default: the rest of the target. */
  fatBytes?: number;
  entries: AsyncIterable<MediaEntry>;
  volumeLabel: string | null;
  defaultMtime: number;
  identity: () => CardIdentity;
  /** ISO bytes copied so far (for progress). */
  onIsoBytes?: (bytes: number) => void;
  onFinalize?: () => void;
  signal?: AbortSignal;
}

export interface WriteHybridStickResult {
  layout: HybridStickLayout;
  stats: Fat32BuildStats;
  identity: CardIdentity;
}

/** Apply the patches that fall into `piece` (which holds ISO bytes from `start`). */
function applyPatches(piece: Buffer, start: number, plan: IsoPartitionPlan): void {
  const end = start + piece.length;
  for (const patch of plan.patches) {
    const patchEnd = patch.offset + patch.data.length;
    if (patchEnd <= start || patch.offset >= end) continue;
    const from = Math.max(start, patch.offset);
    const to = Math.min(end, patchEnd);
    patch.data.copy(piece, from - start, from - patch.offset, to - patch.offset);
  }
}

/**
 * Write the stick. Order, so that an interrupted write never leaves a stick that looks valid:
 * the old partition table and signatures are wiped (the first MiB of the disk and of both
 * partitions, the last 128 KiB); the ISO streams in from its second MiB on; the FAT partition
 * is built; a flush; then the ISO's first MiB (its boot sector and volume descriptors); a
 * flush; and the MBR last, followed by a final flush.
 */
export async function writeHybridStick(options: WriteHybridStickOptions): Promise<WriteHybridStickResult> {
  const { target, iso } = options;
  const layout = planHybridLayout(target.size, iso.plan.size, options.fatBytes);
  const isoStart = layout.iso.startLba * SECTOR_SIZE;
  const fatStart = layout.fat.startLba * SECTOR_SIZE;
  const fatEnd = fatStart + layout.fat.sectors * SECTOR_SIZE;
  const headEnd = Math.min(isoStart + PIECE, isoStart + iso.plan.size);
  await target.zero(0, headEnd);
  await target.zero(fatStart, Math.min(PIECE, fatEnd - fatStart));
  const tail = Math.max(fatStart + PIECE, target.size - STALE_TAIL_AREA);
  if (tail < target.size) await target.zero(tail, target.size - tail);

  const handle = await open(iso.path, 'r');
  let firstPiece: Buffer;
  try {
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = target.allocate(length);
      let done = 0;
      while (done < length) {
        if (options.signal?.aborted) throw new CancelledError();
        const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) {
          throw new AppError(
            'invalid-media',
            `the ISO ends at byte ${position + done}, before its ${iso.plan.size} bytes`,
            {
              location: iso.path,
              hint: 'the file changed or is truncated: download it again',
            },
          );
        }
        done += bytesRead;
      }
      return buffer;
    };
    firstPiece = await read(0, Math.min(PIECE, iso.plan.size));
    for (let position = PIECE; position < iso.plan.size; position += PIECE) {
      const piece = await read(position, Math.min(PIECE, iso.plan.size - position));
      applyPatches(piece, position, iso.plan);
      await target.write(piece, isoStart + position);
      options.onIsoBytes?.(position + piece.length);
    }
  } finally {
    await handle.close();
  }

  const { stats, identity } = await writeFatVolume(target, fatStart, layout.fat.geometry, options);

  // The ISO's first MiB: its boot sector, the system area cleared, the volume descriptors.
  firstPiece.fill(0, 0, Math.min(firstPiece.length, 16 * 2048));
  isoPartitionBootSector(options.bootCode.isoPartitionCode, iso.plan.isolinuxSector512).copy(firstPiece, 0);
  applyPatches(firstPiece, 0, iso.plan);
  await target.write(firstPiece, isoStart);
  await target.flush();

  const mbr = target.allocate(SECTOR_SIZE);
  encodeMbr({
    diskSignature: identity.diskSignature,
    bootCode: options.bootCode.mbr,
    partitions: [
      { start: layout.iso.startLba, sectors: layout.iso.sectors, type: PARTITION_TYPE_ISO, bootable: true },
      { start: layout.fat.startLba, sectors: layout.fat.sectors, type: PARTITION_TYPE_FAT32_LBA, bootable: false },
    ],
  }).copy(mbr);
  await target.write(mbr, 0);
  await target.flush();
  return { layout, stats, identity };
}
