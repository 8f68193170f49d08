import type { Drive, DrivePartition } from '../../shared/model/drive.js';

/** Drives as the drive list describes them, for tests of what is shown and refused. */

const GB = 1e9;

export function partition(overrides: Partial<DrivePartition> = {}): DrivePartition {
  return {
    device: '/dev/sdb1',
    label: 'STICK',
    filesystem: 'vfat',
    size: 32 * GB - 2 ** 20,
    mountpoints: [],
    swap: false,
    holders: [],
    ...overrides,
  };
}

/** A 32 GB USB stick with one FAT partition, not mounted: everything a card should be. */
export function stick(overrides: Partial<Drive> = {}): Drive {
  return {
    device: '/dev/sdb',
    kind: 'disk',
    description: 'SanDisk Cruzer Blade',
    size: 32 * GB,
    blockSize: 512,
    bus: 'USB',
    removable: true,
    card: false,
    usb: true,
    readOnly: false,
    virtual: false,
    system: false,
    serial: '4C530001230101117345',
    partitions: [partition()],
    swapFiles: [],
    backingFile: null,
    ...overrides,
  };
}
