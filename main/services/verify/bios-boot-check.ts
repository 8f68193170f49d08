import { AppError, CancelledError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import type { VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { openIsoSource, type IsoImage, type IsoNode } from '../boot-media/iso9660.js';
import { isApkovlName } from '../boot-media/media-path.js';
import { SECTOR_SIZE } from '../image/constants.js';
import type { Mbr, MbrPartition } from '../image/mbr.js';
import { CardReader, type CardFile } from './card-reader.js';
import { count, makeCheck, problem } from './checks.js';
import type { VerifyMedium } from './medium.js';

/**
 * The BIOS side of an x86_64 stick, and the trap of the naive hybrid layout:
 *
 * - a BIOS+UEFI stick (apkovl build, board x86_64): syslinux's mbr.bin in the MBR, partition 1
 *   active, type 0x17, holding Alpine's ISO with isohdppx.bin in its first sector pointing at
 *   the ISO's isolinux.bin (El Torito, boot info table), syslinux.cfg and the files it loads;
 * - any stick whose whole disk carries an ISO 9660 file system (an ISO written with dd, with a
 *   partition added after it): Alpine's initramfs mounts the whole disk first and then cannot
 *   mount any partition (EBUSY), so an apkovl there is never read.
 */

export const BIOS_BOOT_TITLE = 'BIOS boot chain';
const ISO_SECTOR = 2048;
/** isolinux.bin's hybrid signature at byte 0x40. */
const HYBRID_SIGNATURE = 0x7078c0fb;
const REWRITE = 'write the stick again (apkovl build, target.board: x86_64)';

/** Partition type an ISO inside a partition gets (isohybrid's default): Hidden IFS. */
export const ISO_PARTITION_TYPE = 0x17;

export interface IsoPartitionView {
  partition: MbrPartition;
  /** 1-based. */
  number: number;
  image: IsoImage;
  /** The ISO's files, readable like the FAT's (digests, byte ranges on the medium). */
  reader: CardReader;
}

async function readAt(medium: VerifyMedium, position: number, length: number): Promise<Buffer> {
  const buffer = medium.allocate(Math.ceil(length / SECTOR_SIZE) * SECTOR_SIZE);
  let done = 0;
  while (done < buffer.length) {
    const read = await medium.read(buffer.subarray(done), position + done);
    if (read === 0) break;
    done += read;
  }
  return Buffer.from(buffer.subarray(0, Math.min(done, length)));
}

/** Whether bytes 32 KiB + 1 .. 6 of the whole disk say CD001: an ISO 9660 volume at sector 0. */
export async function wholeDiskIsIso(medium: VerifyMedium): Promise<boolean> {
  if (medium.size < 34 * 1024) return false;
  const descriptor = await readAt(medium, 16 * ISO_SECTOR, SECTOR_SIZE);
  return descriptor.toString('latin1', 1, 6) === 'CD001';
}

function walk(node: IsoNode, prefix: string, files: CardFile[]): void {
  for (const child of node.children) {
    const path = prefix === '' ? child.name : `${prefix}/${child.name}`;
    files.push({
      path,
      isDirectory: child.isDirectory,
      size: child.isDirectory ? 0 : child.size,
      firstCluster: child.extent + 2,
      mtime: child.mtime,
      runs:
        child.isDirectory || child.size === 0
          ? []
          : [{ first: child.extent + 2, count: Math.ceil(child.size / ISO_SECTOR) }],
      unreadable: null,
    });
    if (child.isDirectory) walk(child, path, files);
  }
}

/**
 * The ISO 9660 volume in an MBR partition of type 0x17, if there is one, opened for reading;
 * null when the table has none. Throws an AppError when it is there but unreadable.
 */
export async function openIsoPartition(
  medium: VerifyMedium,
  mbr: Mbr,
  signal?: AbortSignal,
): Promise<IsoPartitionView | null> {
  const index = mbr.partitions.findIndex((entry) => entry.type === ISO_PARTITION_TYPE);
  const partition = mbr.partitions[index];
  if (partition === undefined) return null;
  const start = partition.start * SECTOR_SIZE;
  const size = Math.min(partition.sectors * SECTOR_SIZE, Math.max(0, medium.size - start));
  const image = await openIsoSource({
    path: `partition ${index + 1} of ${medium.description}`,
    size,
    read: async (buffer, position) => {
      const length = Math.min(buffer.length, size - position);
      if (length <= 0) return 0;
      const data = await readAt(medium, start + position, length);
      data.copy(buffer);
      return data.length;
    },
    close: () => Promise.resolve(),
  });
  const files: CardFile[] = [];
  walk(image.root, '', files);
  const reader = new CardReader(medium, { dataOffset: start, clusterSize: ISO_SECTOR }, files, signal);
  return { partition, number: index + 1, image, reader };
}

/** KERNEL, LINUX and INITRD paths of a syslinux configuration (INITRD may list several). */
export function syslinuxConfigFiles(config: string): string[] {
  const names: string[] = [];
  for (const line of config.split(/\r?\n/)) {
    const match = /^\s*(kernel|linux|initrd)\s+(\S+)/i.exec(line);
    if (match?.[2] === undefined) continue;
    for (const name of match[2].split(',')) names.push(name.replace(/^\/+/, ''));
  }
  return names;
}

/**
 * The BIOS chain of a BIOS+UEFI stick, byte by byte as the firmware and isolinux read it, and
 * the whole-disk ISO trap on any stick.
 */
export async function checkBiosBoot(
  medium: VerifyMedium,
  mbr: Mbr,
  view: IsoPartitionView | null,
  openError: string | null,
  /** The ISO's files against the boot media, when they were compared. */
  media: { problems: VerifyProblem[]; compared: number; name: string } | null = null,
): Promise<VerifyCheck | null> {
  const problems: VerifyProblem[] = [...(media?.problems ?? [])];
  const details: string[] = [];
  if (media !== null) {
    details.push(`${count(media.compared, 'file')} of the ISO compared with ${displayText(media.name)}`);
  }
  if (await wholeDiskIsIso(medium)) {
    problems.push(
      problem(
        'fault',
        "the whole disk carries an ISO 9660 file system (an ISO written as dd writes it): Alpine's initramfs mounts the whole disk first and then cannot mount any of its partitions, so an apkovl on one is never read",
        { ranges: [{ start: 16 * ISO_SECTOR, end: 17 * ISO_SECTOR }], hint: REWRITE },
      ),
    );
  }
  if (view === null && openError === null) {
    if (problems.length === 0) return null;
    return makeCheck('bios-boot', BIOS_BOOT_TITLE, { summary: 'the disk is an ISO image', problems });
  }
  const iso = mbr.partitions.find((entry) => entry.type === ISO_PARTITION_TYPE) as MbrPartition;
  const isoStart = iso.start * SECTOR_SIZE;
  const vbrRange = { start: isoStart, end: isoStart + SECTOR_SIZE };
  if (openError !== null || view === null) {
    problems.push(
      problem('damage', `the ISO partition cannot be read: ${openError ?? 'unknown'}`, {
        ranges: [vbrRange],
        hint: REWRITE,
      }),
    );
    return makeCheck('bios-boot', BIOS_BOOT_TITLE, { summary: 'the ISO partition is unreadable', problems });
  }
  const { image, reader } = view;
  const mbrSector = await readAt(medium, 0, SECTOR_SIZE);
  if (mbrSector.subarray(0, 440).every((byte) => byte === 0)) {
    problems.push(
      problem('fault', 'the MBR holds no boot code: a BIOS finds nothing to start', {
        ranges: [{ start: 0, end: 440 }],
        hint: REWRITE,
      }),
    );
  }
  if (!iso.bootable) {
    problems.push(
      problem('fault', `partition ${view.number} (the ISO) is not flagged active: mbr.bin boots the active partition`, {
        ranges: [{ start: 446, end: 510 }],
        hint: REWRITE,
      }),
    );
  }
  const vbr = await readAt(medium, isoStart, SECTOR_SIZE);
  const pointer = Number(vbr.readBigUInt64LE(432));
  const catalog = await elToritoIsolinux(image);
  if (vbr.readUInt16LE(510) !== 0xaa55 || vbr.subarray(0, 432).every((byte) => byte === 0)) {
    problems.push(
      problem('damage', `partition ${view.number}'s first sector holds no boot code (isohdppx.bin)`, {
        ranges: [vbrRange],
        hint: REWRITE,
      }),
    );
  } else if (catalog === null) {
    problems.push(
      problem('fault', 'the ISO has no El Torito boot entry for isolinux: BIOS PCs cannot start it', { hint: REWRITE }),
    );
  } else if (pointer !== catalog.sector * 4) {
    problems.push(
      problem(
        'damage',
        `partition ${view.number}'s boot sector points at 512-byte sector ${pointer} of the ISO, and isolinux.bin is at ${catalog.sector * 4}`,
        { ranges: [{ start: isoStart + 432, end: isoStart + 440 }], hint: REWRITE },
      ),
    );
  } else {
    const head = await image.readRange(catalog.sector * ISO_SECTOR, 0x48);
    if (head.readUInt32LE(0x40) !== HYBRID_SIGNATURE || head.readUInt32LE(12) !== catalog.sector) {
      problems.push(
        problem('damage', 'isolinux.bin in the ISO lacks its hybrid signature or boot info table', {
          ranges: [
            { start: isoStart + catalog.sector * ISO_SECTOR, end: isoStart + catalog.sector * ISO_SECTOR + 0x48 },
          ],
          hint: REWRITE,
        }),
      );
    } else {
      details.push(`isohdppx.bin starts isolinux.bin at ISO sector ${catalog.sector}`);
    }
  }
  const config = reader.find('boot/syslinux/syslinux.cfg');
  if (config === null || config.isDirectory) {
    problems.push(
      problem('fault', 'boot/syslinux/syslinux.cfg is missing from the ISO: isolinux has nothing to boot', {
        paths: ['boot/syslinux/syslinux.cfg'],
        hint: REWRITE,
      }),
    );
  } else {
    const text = ((await reader.readSmall(config, 64 * 1024).catch(() => null)) ?? Buffer.alloc(0)).toString('utf8');
    const wanted = syslinuxConfigFiles(text);
    for (const name of [...wanted, 'boot/syslinux/ldlinux.c32']) {
      const file = reader.find(name);
      if (file === null || file.isDirectory) {
        problems.push(
          problem('fault', `${displayText(name)} is missing from the ISO: syslinux.cfg needs it`, {
            paths: [name],
            hint: REWRITE,
          }),
        );
      }
    }
    details.push(`syslinux.cfg loads ${wanted.map((name) => displayText(name)).join(', ') || 'nothing'}`);
  }
  const stray = reader.rootFiles().filter((file) => isApkovlName(file.path));
  if (stray.length > 0) {
    problems.push(
      problem(
        'fault',
        `the ISO holds an apkovl (${stray.map((file) => displayText(file.path)).join(', ')}): the initramfs may take it instead of the machine's`,
        { paths: stray.map((file) => file.path), hint: REWRITE },
      ),
    );
  }
  return makeCheck('bios-boot', BIOS_BOOT_TITLE, {
    summary: `mbr.bin, partition ${view.number} active: ISO 9660 "${displayText(image.volumeId)}" (${formatBytes(image.size)}), ${count(reader.files.filter((file) => !file.isDirectory).length, 'file')}`,
    details,
    problems,
  });
}

async function elToritoIsolinux(image: IsoImage): Promise<{ sector: number } | null> {
  try {
    for (let sector = 16; sector < 64; sector += 1) {
      const descriptor = await image.readRange(sector * ISO_SECTOR, ISO_SECTOR);
      if (descriptor.toString('latin1', 1, 6) !== 'CD001' || descriptor[0] === 255) return null;
      if (descriptor[0] !== 0 || !descriptor.toString('latin1', 7, 30).startsWith('EL TORITO SPECIFICATION')) continue;
      const catalog = await image.readRange(descriptor.readUInt32LE(0x47) * ISO_SECTOR, 64);
      if (catalog[0] !== 1 || catalog[30] !== 0x55 || catalog[31] !== 0xaa || catalog[32] !== 0x88) return null;
      return { sector: catalog.readUInt32LE(40) };
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
  }
  return null;
}

const CONFIGS = ['boot/syslinux/syslinux.cfg', 'boot/grub/grub.cfg'];

/** Whether `edited` is `original` with parameters appended to some lines (as the build does). */
function isOriginalWithParameters(original: string, edited: string): boolean {
  const a = original.split('\n');
  const b = edited.split('\n');
  if (a.length !== b.length) return false;
  return a.every((line, index) => {
    const other = b[index] as string;
    const plain = line.replace(/\r$/, '').trimEnd();
    const changed = other.replace(/\r$/, '');
    return changed === plain || changed === line || (changed.startsWith(`${plain} `) && !/[\r\n]/.test(changed));
  });
}

/**
 * Every file of the ISO partition against the same file of the boot media's ISO: the same
 * bytes, but for syslinux.cfg and grub.cfg, which may have kernel parameters appended.
 */
export async function compareIsoWithMedia(
  view: IsoPartitionView,
  mediaPath: string,
  signal?: AbortSignal,
): Promise<{ problems: VerifyProblem[]; compared: number }> {
  const { openIso } = await import('../boot-media/iso9660.js');
  const { createHash } = await import('node:crypto');
  const media = await openIso(mediaPath);
  const problems: VerifyProblem[] = [];
  let compared = 0;
  try {
    const files: CardFile[] = [];
    walk(media.root, '', files);
    for (const file of files) {
      if (file.isDirectory) continue;
      if (signal?.aborted) throw new CancelledError();
      const onCard = view.reader.find(file.path);
      if (onCard === null || onCard.isDirectory) {
        problems.push(
          problem('damage', `${displayText(file.path)} of the boot media is missing from the ISO partition`, {
            paths: [file.path],
            hint: REWRITE,
          }),
        );
        continue;
      }
      compared += 1;
      const extent = (file.runs[0]?.first ?? 2) - 2;
      if (CONFIGS.includes(file.path)) {
        const original = (await media.readRange(extent * ISO_SECTOR, file.size)).toString('utf8');
        const edited = ((await view.reader.readSmall(onCard, 64 * 1024)) ?? Buffer.alloc(0)).toString('utf8');
        if (!isOriginalWithParameters(original, edited)) {
          problems.push(
            problem(
              'damage',
              `${displayText(file.path)} in the ISO partition differs from the boot media's beyond added kernel parameters`,
              {
                paths: [file.path],
                ranges: view.reader.ranges(onCard),
                hint: REWRITE,
              },
            ),
          );
        }
        continue;
      }
      const hash = createHash('sha256');
      for (let at = 0; at < file.size; at += 1 << 20) {
        hash.update(await media.readRange(extent * ISO_SECTOR + at, Math.min(1 << 20, file.size - at)));
      }
      const digest = await view.reader.digest(onCard);
      if (!digest.ok || digest.sha256 !== hash.digest('hex') || onCard.size !== file.size) {
        problems.push(
          problem('damage', `${displayText(file.path)} in the ISO partition differs from the boot media's`, {
            paths: [file.path],
            ranges: digest.ok ? view.reader.ranges(onCard) : digest.ranges,
            hint: REWRITE,
          }),
        );
      }
    }
  } finally {
    await media.close();
  }
  return { problems, compared };
}
