import { open } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { Fat32Volume, readMbr, type ReadableMedium } from '../image/fat-reader.js';
import { SECTOR_SIZE } from '../image/constants.js';

/**
 * What kind of card image `apkovl try` was given, from its partition table: a BIOS+UEFI x86 stick
 * (Alpine's ISO in a partition of type 0x17, FAT32 beside it), a UEFI-only x86 stick (one FAT32
 * partition holding EFI/BOOT/BOOTX64.EFI), or something QEMU cannot boot as a PC (a Raspberry Pi
 * card, anything else).
 */
export type ImageLayout = 'bios-uefi' | 'uefi';

const ISO_PARTITION = 0x17;
const FAT_TYPES = new Set([0x0b, 0x0c, 0x0e, 0x06, 0xef]);

export async function imageLayout(file: string): Promise<ImageLayout> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new AppError('not-found', `cannot read ${displayText(file)}: ${(error as Error).message}`, {
      location: file,
      hint: 'give a card image made by apkovl build -o FILE, or a machine definition (.yml)',
    });
  });
  try {
    const size = (await handle.stat()).size;
    const medium: ReadableMedium = {
      size,
      read: async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    };
    const mbr = await readMbr(medium);
    const notBootable = (why: string) =>
      new AppError('invalid-input', `${displayText(file)} is not an x86 card image: ${why}`, {
        location: file,
        hint: 'apkovl try boots x86 images made by apkovl build (board x86_64 or x86_64-uefi); netboot a Raspberry Pi machine from its definition (.yml) instead',
      });
    if (mbr === null) throw notBootable('it has no MBR partition table');
    if (mbr.partitions.some((partition) => partition.type === ISO_PARTITION)) return 'bios-uefi';
    const fat = mbr.partitions.find((partition) => FAT_TYPES.has(partition.type));
    if (fat === undefined) throw notBootable('it has neither an ISO partition (type 0x17) nor a FAT partition');
    let volume: Fat32Volume;
    try {
      volume = await Fat32Volume.open(medium, fat.start * SECTOR_SIZE, fat.sectors * SECTOR_SIZE);
    } catch (error) {
      throw notBootable(`its FAT partition cannot be read (${(error as Error).message})`);
    }
    const loader = await volume.stat('EFI/BOOT/BOOTX64.EFI').catch(() => null);
    if (loader !== null) return 'uefi';
    const piConfig = await volume.stat('config.txt').catch(() => null);
    throw notBootable(
      piConfig !== null
        ? 'it is a Raspberry Pi card (config.txt, no EFI/BOOT/BOOTX64.EFI), which QEMU does not boot as a Pi'
        : 'its FAT partition has no EFI/BOOT/BOOTX64.EFI',
    );
  } finally {
    await handle.close();
  }
}

/** Why --bios cannot boot a stick of this layout, or null when it can. */
export function biosRefusal(layout: ImageLayout, file: string): AppError | null {
  if (layout !== 'uefi') return null;
  return new AppError(
    'usage',
    `${displayText(file)} is a UEFI-only stick (board x86_64-uefi: one FAT32 partition, no ISO partition of type 0x17), which SeaBIOS cannot boot`,
    {
      location: '--bios',
      hint: 'leave out --bios to boot it under UEFI (OVMF), or build the machine for board x86_64 (BIOS+UEFI)',
    },
  );
}
