import type { Drive as ListedDrive } from 'drivelist';
import { describe, expect, it } from 'vitest';
import type { BlockNode } from '../../../main/services/drives/lsblk.js';
import { normaliseDrive } from '../../../main/services/drives/read-drives.js';
import { classifyDrive } from '../../../shared/rules/drive-safety.js';

/** drivelist's view of a drive on Linux (it runs lsblk itself), as it reports it. */
function listed(overrides: Partial<ListedDrive>): ListedDrive {
  return {
    enumerator: 'lsblk:json',
    busType: 'UNKNOWN',
    busVersion: null,
    device: '/dev/sdb',
    devicePath: null,
    raw: '/dev/sdb',
    description: '',
    error: null,
    size: 31914983424,
    blockSize: 512,
    logicalBlockSize: 512,
    mountpoints: [],
    isReadOnly: false,
    isSystem: false,
    isVirtual: false,
    isRemovable: true,
    isCard: null,
    isSCSI: null,
    isUSB: null,
    isUAS: null,
    partitionTableType: 'mbr',
    ...overrides,
  };
}

function node(overrides: Partial<BlockNode>): BlockNode {
  return {
    name: 'sdb',
    path: '/dev/sdb',
    size: 31914983424,
    type: 'disk',
    filesystem: null,
    label: null,
    mountpoints: [],
    removable: false,
    hotplug: false,
    readOnly: false,
    transport: null,
    model: null,
    serial: null,
    blockSize: 512,
    children: [],
    ...overrides,
  };
}

const facts = { swapDevices: new Set<string>(), mounts: [] };

describe('normaliseDrive', () => {
  it('takes a built-in SD card reader (neither removable nor hot-pluggable) as a removable card', async () => {
    const card = await normaliseDrive(
      listed({ device: '/dev/mmcblk0', isRemovable: false, isSystem: true, description: '' }),
      node({ name: 'mmcblk0', path: '/dev/mmcblk0', serial: '0x1234abcd', model: null }),
      facts,
    );
    expect(card).toMatchObject({ bus: 'MMC', card: true, removable: true, system: false, serial: '0x1234abcd' });
    expect(classifyDrive(card).status).toBe('ok');
  });

  it('takes a USB stick with lsblk model, serial and partitions', async () => {
    const stick = await normaliseDrive(
      listed({ description: 'ALPINE SanDisk Cruzer Blade' }),
      node({
        removable: true,
        transport: 'usb',
        model: 'Cruzer Blade',
        serial: '4C530001',
        children: [
          node({
            name: 'sdb1',
            path: '/dev/sdb1',
            type: 'part',
            size: 31913934848,
            filesystem: 'vfat',
            label: 'ALPINE',
            mountpoints: ['/media/user/ALPINE'],
          }),
        ],
      }),
      facts,
    );
    expect(stick).toMatchObject({ description: 'Cruzer Blade', bus: 'USB', usb: true, removable: true, system: false });
    expect(stick.partitions).toEqual([
      {
        device: '/dev/sdb1',
        label: 'ALPINE',
        filesystem: 'vfat',
        size: 31913934848,
        mountpoints: ['/media/user/ALPINE'],
        swap: false,
        holders: [],
      },
    ]);
  });

  it('takes an internal disk as a system drive, and gives a LUKS partition its holder and mounts', async () => {
    const disk = await normaliseDrive(
      listed({ device: '/dev/nvme0n1', isRemovable: false, isSystem: true }),
      node({
        name: 'nvme0n1',
        path: '/dev/nvme0n1',
        transport: 'nvme',
        children: [
          node({
            name: 'nvme0n1p2',
            path: '/dev/nvme0n1p2',
            type: 'part',
            filesystem: 'crypto_LUKS',
            children: [
              node({
                name: 'root',
                path: '/dev/mapper/root',
                type: 'crypt',
                filesystem: 'ext4',
                mountpoints: ['/'],
              }),
            ],
          }),
        ],
      }),
      facts,
    );
    expect(disk).toMatchObject({ bus: 'NVME', removable: false, system: true });
    expect(disk.partitions[0]).toMatchObject({ mountpoints: ['/'], holders: ['/dev/mapper/root'] });
    expect(classifyDrive(disk).reasons.map(({ code }) => code)).toEqual(['system-mount', 'fixed-drive', 'in-use']);
  });

  it('marks zram as memory and a swap area in use from /proc/swaps', async () => {
    const zram = await normaliseDrive(
      listed({ device: '/dev/zram0', isVirtual: true, size: 4 * 2 ** 30 }),
      node({ name: 'zram0', path: '/dev/zram0', filesystem: 'swap', size: 4 * 2 ** 30 }),
      { swapDevices: new Set(['/dev/zram0']), mounts: [] },
    );
    expect(zram).toMatchObject({ kind: 'memory', virtual: true });
    expect(zram.partitions).toEqual([
      {
        device: '/dev/zram0',
        label: null,
        filesystem: 'swap',
        size: 4 * 2 ** 30,
        mountpoints: [],
        swap: true,
        holders: [],
      },
    ]);
    expect(classifyDrive(zram).reasons.map(({ code }) => code)).toEqual(['swap', 'memory']);
  });
});
