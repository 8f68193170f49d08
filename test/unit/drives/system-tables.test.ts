import { describe, expect, it } from 'vitest';
import { parseBlkidExport } from '../../../main/services/drives/filesystem-probe.js';
import { parseLsblk } from '../../../main/services/drives/lsblk.js';
import { mountOf, parseMountinfo } from '../../../main/services/drives/mount-table.js';
import { parseSwaps } from '../../../main/services/drives/swap-table.js';
import { splitDeviceNumber } from '../../../main/services/drives/sysfs.js';

/** What the kernel and util-linux print, in the shapes this machine cannot show (old versions, odd names). */

describe('the mount table', () => {
  const mountinfo = [
    '27 1 254:0 / / rw,relatime - ext4 /dev/sdz rw',
    '30 27 0:27 / /tmp rw,relatime shared:5 - tmpfs tmpfs rw',
    '41 27 8:17 / /media/user/MY\\040STICK rw,relatime - vfat /dev/sdb1 rw',
    '42 41 0:40 / /media/user/MY\\040STICK/inner rw - overlay overlay rw,lowerdir=/a',
  ].join('\n');

  it('reads device, mountpoint (octal escapes undone), type and source, optional fields or not', () => {
    expect(parseMountinfo(mountinfo)).toEqual([
      { device: '254:0', mountpoint: '/', filesystem: 'ext4', source: '/dev/sdz' },
      { device: '0:27', mountpoint: '/tmp', filesystem: 'tmpfs', source: 'tmpfs' },
      { device: '8:17', mountpoint: '/media/user/MY STICK', filesystem: 'vfat', source: '/dev/sdb1' },
      { device: '0:40', mountpoint: '/media/user/MY STICK/inner', filesystem: 'overlay', source: 'overlay' },
    ]);
  });

  it('finds the deepest mount above a path, not a sibling with the same prefix', () => {
    const mounts = parseMountinfo(mountinfo);
    expect(mountOf(mounts, '/tmp/x')?.filesystem).toBe('tmpfs');
    expect(mountOf(mounts, '/tmpfile')?.source).toBe('/dev/sdz');
    expect(mountOf(mounts, '/media/user/MY STICK/inner/a')?.filesystem).toBe('overlay');
    expect(mountOf(mounts, '/media/user/MY STICK')?.source).toBe('/dev/sdb1');
  });
});

describe('/proc/swaps', () => {
  it('tells swap partitions from swap files', () => {
    const text =
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' +
      '/dev/sdb2                               partition\t48124\t\t0\t\t-2\n' +
      '/swap\\040file                           file\t\t1024\t\t0\t\t-3\n';
    expect(parseSwaps(text)).toEqual([
      { path: '/dev/sdb2', type: 'partition' },
      { path: '/swap file', type: 'file' },
    ]);
    expect(parseSwaps('Filename\tType\tSize\tUsed\tPriority\n')).toEqual([]);
  });
});

describe('lsblk --json', () => {
  it('reads util-linux 2.38 output (booleans, numbers, mountpoints)', () => {
    const [disk] = parseLsblk(
      JSON.stringify({
        blockdevices: [
          {
            name: 'sdb',
            path: '/dev/sdb',
            size: 31914983424,
            type: 'disk',
            fstype: null,
            label: null,
            mountpoints: [null],
            rm: true,
            ro: false,
            tran: 'usb',
            model: 'Cruzer Blade    ',
            serial: '4C53',
            hotplug: true,
            'log-sec': 512,
            children: [
              {
                name: 'sdb1',
                path: '/dev/sdb1',
                size: 31913934848,
                type: 'part',
                fstype: 'vfat',
                label: ' ALPINE',
                mountpoints: ['/media/a', '/mnt/b'],
                rm: true,
                ro: false,
              },
            ],
          },
        ],
      }),
    );
    expect(disk).toMatchObject({
      path: '/dev/sdb',
      size: 31914983424,
      mountpoints: [],
      removable: true,
      hotplug: true,
      transport: 'usb',
      model: 'Cruzer Blade',
      blockSize: 512,
    });
    expect(disk?.children[0]).toMatchObject({
      filesystem: 'vfat',
      label: ' ALPINE',
      mountpoints: ['/media/a', '/mnt/b'],
    });
  });

  it('reads old util-linux output (flags and sizes as strings, one MOUNTPOINT, no PATH)', () => {
    const [disk] = parseLsblk(
      JSON.stringify({
        blockdevices: [
          {
            name: 'mmcblk0',
            size: '7948206080',
            type: 'disk',
            mountpoint: null,
            rm: '1',
            ro: '0',
            hotplug: '0',
            children: [{ name: 'mmcblk0p1', size: '268435456', type: 'part', mountpoint: '/boot', rm: '1', ro: '1' }],
          },
        ],
      }),
    );
    expect(disk).toMatchObject({
      path: '/dev/mmcblk0',
      size: 7948206080,
      removable: true,
      hotplug: false,
      mountpoints: [],
    });
    expect(disk?.children[0]).toMatchObject({ path: '/dev/mmcblk0p1', mountpoints: ['/boot'], readOnly: true });
  });
});

describe('blkid -o export', () => {
  it('undoes the backslash escapes of a label', () => {
    expect(parseBlkidExport('DEVNAME=/dev/loop0p1\nLABEL=my\\ card\\$\nUUID=2d86\nTYPE=ext4\n')).toEqual({
      filesystem: 'ext4',
      label: 'my card$',
    });
    expect(parseBlkidExport('DEVNAME=/dev/loop0\nPTTYPE=dos\n')).toEqual({ filesystem: null, label: null });
  });
});

describe('device numbers', () => {
  it("splits Linux's dev_t, small and large", () => {
    expect(splitDeviceNumber(0xfe00n)).toEqual({ major: 254, minor: 0 });
    expect(splitDeviceNumber(0x0811n)).toEqual({ major: 8, minor: 17 });
    // major 259 (blkext, NVMe partitions), minor 300: bits above the classic 8/8 split.
    expect(splitDeviceNumber((259n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n))).toEqual({
      major: 259,
      minor: 300,
    });
  });
});
