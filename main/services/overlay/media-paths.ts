import type { Machine } from '../../../shared/model/machine.js';

/**
 * Where the boot card is mounted on the running machine. On a Raspberry Pi the initramfs mounts
 * the SD card at /media/mmcblk0p1. On a PC the stick's device name varies (sda1, sdb1), so an
 * fstab line relocates it by label to /media/usb, as setup-lbu does.
 */
export interface BootMediaMount {
  /** Name under /media, as LBU_MEDIA wants it. */
  name: string;
  mountPoint: string;
  /** fstab device: the SD card's partition, or the stick's label. */
  device: string;
  /** Whether the overlay must relocate the mount with an fstab line even without persistence. */
  relocated: boolean;
}

/** The FAT label of the boot card: from the definition, else the host name in capitals. */
export function cardLabel(machine: Machine): string {
  if (machine.boot.label !== undefined) return machine.boot.label;
  const label = machine.hostname
    .toUpperCase()
    .replace(/[^A-Z0-9_-]/g, '_')
    .slice(0, 11);
  return label === 'CIDATA' ? 'CIDATA_' : label;
}

export function bootMediaMount(machine: Machine): BootMediaMount {
  if (machine.target.board === 'rpi') {
    return { name: 'mmcblk0p1', mountPoint: '/media/mmcblk0p1', device: '/dev/mmcblk0p1', relocated: false };
  }
  return { name: 'usb', mountPoint: '/media/usb', device: `LABEL=${cardLabel(machine)}`, relocated: true };
}
