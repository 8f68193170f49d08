import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { appendToGrubConfig, checkParameters } from './compose.js';
import type { IsoImage, IsoNode } from './iso9660.js';
import { isApkovlName } from './media-path.js';

/**
 * Alpine's x86_64 ISO as partition 1 of a BIOS+UEFI stick, unchanged but for a few sectors:
 *
 * - its first sector becomes the partition's boot sector: syslinux's isohdppx.bin (isohybrid
 *   boot code built with partition support) plus, at byte 432, the 512-byte sector of
 *   isolinux.bin inside the ISO. syslinux's mbr.bin in the disk's MBR loads this sector from the
 *   active partition and hands it the partition entry; the code loads isolinux.bin and passes on
 *   the partition's offset, and isolinux then reads the ISO file system inside the partition.
 * - the rest of the ISO's 32 KiB system area (the isohybrid MBR's partition table and GPT) is
 *   zeroed, and so is a backup GPT header in its last sector: inside a partition they would
 *   describe partitions that do not exist.
 * - boot/syslinux/syslinux.cfg and boot/grub/grub.cfg get the machine's kernel parameters, in
 *   place: the new text must fit the 2 KiB blocks the file already has, and the size in every
 *   directory record that points at it (ISO 9660 and Joliet) is changed to match.
 *
 * Why a partition and not the ISO at sector 0 as `dd` would write it: Alpine's initramfs
 * (nlplug-findfs) looks at the whole disk before its partitions; an ISO 9660 file system at
 * sector 0 is mounted first, as the boot repository, and Linux then refuses to mount any of the
 * disk's partitions (EBUSY), so an apkovl on a FAT partition beside it is never read. Inside a
 * partition, the whole disk shows no file system and both partitions are mounted.
 */

const SECTOR = 2048;
/** The ISO's system area (sectors 0 to 15 of 2 KiB) in 512-byte sectors. */
export const ISO_SYSTEM_AREA_BYTES = 16 * SECTOR;
/** isolinux.bin's hybrid signature at byte 0x40 (isohybrid boot code checks it). */
const HYBRID_SIGNATURE = 0x7078c0fb;

export interface IsoPatch {
  /** Offset in the ISO image. */
  offset: number;
  data: Buffer;
  why: string;
}

export interface IsoPartitionPlan {
  /** The 512-byte sector of isolinux.bin in the ISO (what isohybrid stores at byte 432). */
  isolinuxSector512: number;
  volumeId: string;
  size: number;
  /** Replacements, sorted by offset, none overlapping; the boot sector is not among them. */
  patches: IsoPatch[];
  /** Files that were given kernel parameters. */
  edited: string[];
}

function invalid(image: IsoImage, message: string, hint: string, where?: number): AppError {
  return new AppError('invalid-media', message, {
    location: where === undefined ? image.path : `${image.path}, byte ${where}`,
    hint,
  });
}

function findNode(root: IsoNode, path: string): IsoNode | null {
  let node: IsoNode | undefined = root;
  for (const part of path.split('/')) {
    node = node?.children.find((child) => child.name === part);
    if (node === undefined) return null;
  }
  return node;
}

/** Append kernel parameters to every APPEND line of a syslinux configuration (keywords in any case). */
export function appendToSyslinuxConfig(original: string, parameters: readonly string[]): string {
  const extra = checkParameters(parameters).join(' ');
  let found = false;
  const text = original
    .split('\n')
    .map((line) => {
      if (!/^\s*append(\s|$)/i.test(line)) return line;
      found = true;
      const ending = line.endsWith('\r') ? '\r' : '';
      return `${line.replace(/\r$/, '').trimEnd()} ${extra}${ending}`;
    })
    .join('\n');
  if (!found) {
    throw new AppError('invalid-media', 'boot/syslinux/syslinux.cfg has no APPEND line to add kernel parameters to', {
      location: 'boot/syslinux/syslinux.cfg',
    });
  }
  return text;
}

/** The El Torito default entry's load sector (2 KiB) and platform, or null without El Torito. */
async function elToritoBootImage(image: IsoImage): Promise<{ sector: number; platform: number } | null> {
  for (let sector = 16; sector < 64; sector += 1) {
    const descriptor = await image.readRange(sector * SECTOR, SECTOR);
    if (descriptor.toString('latin1', 1, 6) !== 'CD001') return null;
    if (descriptor[0] === 255) return null;
    if (descriptor[0] !== 0 || !descriptor.toString('latin1', 7, 30).startsWith('EL TORITO SPECIFICATION')) continue;
    const catalogSector = descriptor.readUInt32LE(0x47);
    if ((catalogSector + 1) * SECTOR > image.size) return null;
    const catalog = await image.readRange(catalogSector * SECTOR, 64);
    // Validation entry: header 1, key bytes 55 AA; then the initial/default entry.
    if (catalog[0] !== 1 || catalog[30] !== 0x55 || catalog[31] !== 0xaa) return null;
    if (catalog[32] !== 0x88) return null; // not bootable
    return { sector: catalog.readUInt32LE(32 + 8), platform: catalog[1] ?? 0 };
  }
  return null;
}

/** Every directory record (any volume descriptor's tree) by the extent it points at. */
async function directoryRecords(image: IsoImage): Promise<Map<number, number[]>> {
  const byExtent = new Map<number, number[]>();
  const seen = new Set<number>();
  const walk = async (extent: number, length: number, depth: number): Promise<void> => {
    if (depth > 32 || seen.has(extent) || extent * SECTOR + length > image.size) return;
    seen.add(extent);
    const data = await image.readRange(extent * SECTOR, length);
    let at = 0;
    while (at < data.length) {
      const recordLength = data[at] ?? 0;
      if (recordLength === 0) {
        at = (Math.floor(at / SECTOR) + 1) * SECTOR;
        continue;
      }
      if (recordLength < 34 || at + recordLength > data.length) return;
      const nameLength = data[at + 32] ?? 0;
      const first = data[at + 33];
      const self = nameLength === 1 && (first === 0 || first === 1);
      const target = data.readUInt32LE(at + 2);
      if (!self) {
        const list = byExtent.get(target);
        if (list === undefined) byExtent.set(target, [extent * SECTOR + at]);
        else list.push(extent * SECTOR + at);
        if ((data[at + 25] ?? 0) & 0x02) await walk(target, data.readUInt32LE(at + 10), depth + 1);
      }
      at += recordLength;
    }
  };
  for (let sector = 16; sector < 64; sector += 1) {
    const descriptor = await image.readRange(sector * SECTOR, SECTOR);
    if (descriptor.toString('latin1', 1, 6) !== 'CD001' || descriptor[0] === 255) break;
    if (descriptor[0] !== 1 && descriptor[0] !== 2) continue;
    await walk(descriptor.readUInt32LE(156 + 2), descriptor.readUInt32LE(156 + 10), 0);
  }
  return byExtent;
}

function sizeField(size: number): Buffer {
  const field = Buffer.alloc(8);
  field.writeUInt32LE(size, 0);
  field.writeUInt32BE(size, 4);
  return field;
}

/**
 * Check that the ISO can boot BIOS from inside a partition (El Torito isolinux.bin with a boot
 * info table and the hybrid signature, as Alpine's mkimage makes it; no apkovl of its own) and
 * plan the sectors that change.
 */
export async function planIsoPartition(image: IsoImage, cmdlineAppend: readonly string[]): Promise<IsoPartitionPlan> {
  const hint =
    'use an Alpine x86_64 ISO (alpine-<flavor>-<version>-x86_64.iso) unchanged, or target.board: x86_64-uefi';
  if (image.size % SECTOR !== 0) {
    throw invalid(image, `the ISO is ${image.size} bytes, not a whole number of 2 KiB sectors: it is truncated`, hint);
  }
  const boot = await elToritoBootImage(image);
  if (boot === null || boot.platform !== 0) {
    throw invalid(image, 'the ISO has no El Torito boot entry for BIOS PCs (isolinux): it cannot boot BIOS PCs', hint);
  }
  const isolinux = findNode(image.root, 'boot/syslinux/isolinux.bin') ?? findNode(image.root, 'isolinux/isolinux.bin');
  const head = await image.readRange(boot.sector * SECTOR, 0x48);
  if (isolinux === null || isolinux.extent !== boot.sector) {
    throw invalid(
      image,
      "the ISO's El Torito boot image is not boot/syslinux/isolinux.bin",
      hint,
      boot.sector * SECTOR,
    );
  }
  if (head.readUInt32LE(0x40) !== HYBRID_SIGNATURE) {
    throw invalid(
      image,
      'isolinux.bin in the ISO has no isohybrid signature: it cannot be started from a disk',
      hint,
      boot.sector * SECTOR + 0x40,
    );
  }
  // The boot info table (mkisofs -boot-info-table): isolinux finds itself and the volume with it.
  if (head.readUInt32LE(8) !== 16 || head.readUInt32LE(12) !== boot.sector) {
    throw invalid(
      image,
      'isolinux.bin in the ISO has no boot info table (mkisofs -boot-info-table): it cannot find the volume',
      hint,
      boot.sector * SECTOR + 8,
    );
  }
  const stray = image.root.children.filter((child) => !child.isDirectory && isApkovlName(child.name));
  if (stray.length > 0) {
    throw invalid(
      image,
      `the ISO carries an apkovl of its own (${stray.map((node) => displayText(node.name)).join(', ')}); Alpine's initramfs would find it beside the machine's`,
      'use the ISO as Alpine publishes it (it has no apkovl), or target.board: x86_64-uefi, which leaves it out',
    );
  }

  const patches: IsoPatch[] = [];
  const edited: string[] = [];
  if (cmdlineAppend.length > 0) {
    const records = await directoryRecords(image);
    const edits: Array<[string, (text: string) => string]> = [
      ['boot/syslinux/syslinux.cfg', (text) => appendToSyslinuxConfig(text, cmdlineAppend)],
      ['boot/grub/grub.cfg', (text) => appendToGrubConfig(text, cmdlineAppend)],
    ];
    for (const [path, edit] of edits) {
      const node = findNode(image.root, path);
      if (node === null || node.isDirectory) {
        throw invalid(image, `the ISO has no ${path} to add kernel parameters to`, hint);
      }
      const text = Buffer.from(edit((await image.readRange(node.extent * SECTOR, node.size)).toString('utf8')));
      const allocated = Math.ceil(node.size / SECTOR) * SECTOR;
      if (text.length > allocated) {
        throw new AppError(
          'invalid-input',
          `with the kernel parameters, ${path} would be ${text.length} bytes; on the ISO it has room for ${allocated}`,
          {
            location: 'boot.cmdline_append',
            hint: 'shorten the kernel parameters, or use target.board: x86_64-uefi (its FAT copy has no limit)',
          },
        );
      }
      const block = Buffer.alloc(allocated);
      text.copy(block);
      patches.push({ offset: node.extent * SECTOR, data: block, why: `${path} with the kernel parameters` });
      for (const record of records.get(node.extent) ?? []) {
        patches.push({
          offset: record + 10,
          data: sizeField(text.length),
          why: `${path}'s size in a directory record`,
        });
      }
      edited.push(path);
    }
  }
  // A backup GPT header in the ISO's last 512 bytes (xorriso -isohybrid-gpt-basdat).
  const tail = await image.readRange(image.size - 512, 512);
  if (tail.toString('latin1', 0, 8) === 'EFI PART') {
    patches.push({ offset: image.size - 512, data: Buffer.alloc(512), why: "the ISO's backup GPT header" });
  }
  patches.sort((a, b) => a.offset - b.offset);
  for (let index = 1; index < patches.length; index += 1) {
    const before = patches[index - 1] as IsoPatch;
    const patch = patches[index] as IsoPatch;
    if (patch.offset < before.offset + before.data.length || patch.offset < ISO_SYSTEM_AREA_BYTES) {
      throw invalid(
        image,
        `the ISO's layout is unexpected: ${before.why} and ${patch.why} overlap`,
        hint,
        patch.offset,
      );
    }
  }
  return { isolinuxSector512: boot.sector * 4, volumeId: image.volumeId, size: image.size, patches, edited };
}

/** The partition's boot sector: isohdppx.bin, the isolinux.bin pointer at 432, 55 AA. */
export function isoPartitionBootSector(code: Buffer, isolinuxSector512: number): Buffer {
  if (code.length > 432) throw new AppError('internal', 'isohybrid boot code is longer than 432 bytes');
  const sector = Buffer.alloc(512);
  code.copy(sector, 0);
  sector.writeBigUInt64LE(BigInt(isolinuxSector512), 432);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
