/** The machines a card can boot (kept apart from the schema so that they load without zod). */
/**
 * rpi: a Raspberry Pi card; x86_64: a USB stick that boots PCs with BIOS and with UEFI (the ISO
 * in partition 1, a FAT32 partition beside it); x86_64-uefi: a stick with one FAT32 partition
 * that boots UEFI only (all of it writable).
 */
export const boards = ['rpi', 'x86_64', 'x86_64-uefi'] as const;
export const architectures = ['aarch64', 'armv7', 'armhf', 'x86_64'] as const;
export type Board = (typeof boards)[number];
export type Architecture = (typeof architectures)[number];

/** The architectures each board boots: Pi 3 to 5 aarch64, Pi 2 and 3 armv7, Pi 1 and Zero armhf. */
export const boardArchitectures: Readonly<Record<Board, readonly Architecture[]>> = {
  rpi: ['aarch64', 'armv7', 'armhf'],
  x86_64: ['x86_64'],
  'x86_64-uefi': ['x86_64'],
};

/** Flavors of Alpine's x86_64 ISO. */
export const x86Flavors = ['standard', 'extended', 'virt'] as const;
