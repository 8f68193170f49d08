import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import {
  classifiedDriveSchema,
  type Drive,
  type DriveContext,
  type DriveReasonCode,
  type DriveStatus,
  type PathLocation,
} from '../../../shared/model/drive.js';
import { partition, stick } from '../../helpers/drive-fixtures.js';
import {
  assertDriveWritable,
  classifyDrive,
  driveText,
  driveTitle,
  isWritable,
  LARGE_DRIVE_BYTES,
  SYSTEM_MOUNTPOINTS,
} from '../../../shared/rules/drive-safety.js';

const GB = 1e9;

const on = (...drives: string[]): PathLocation => ({ kind: 'drives', path: '/data/alpine.tar.gz', drives });
const codes = (drive: Drive, context?: DriveContext) => classifyDrive(drive, context).reasons.map(({ code }) => code);

interface Case {
  name: string;
  drive: Drive;
  context?: DriveContext;
  status: DriveStatus;
  /** This code must be among the reasons (or, with `null`, `quiet` must not). */
  fires: DriveReasonCode | null;
  quiet?: DriveReasonCode;
}

const cases: Case[] = [
  { name: 'a plain USB stick', drive: stick(), status: 'ok', fires: null, quiet: 'system-mount' },
  {
    name: 'a partition mounted at /',
    drive: stick({ partitions: [partition({ mountpoints: ['/'] })] }),
    status: 'hidden',
    fires: 'system-mount',
  },
  {
    name: 'a mountpoint written with a trailing slash (/boot/)',
    drive: stick({ partitions: [partition({ mountpoints: ['/boot/'] })] }),
    status: 'hidden',
    fires: 'system-mount',
  },
  {
    name: 'a stick mounted by the desktop',
    drive: stick({ partitions: [partition({ mountpoints: ['/media/user/STICK'] })] }),
    status: 'ok',
    fires: 'mounted',
    quiet: 'system-mount',
  },
  {
    name: 'a stick mounted below /home (not /home itself)',
    drive: stick({ partitions: [partition({ mountpoints: ['/home/user/mnt'] })] }),
    status: 'ok',
    fires: null,
    quiet: 'system-mount',
  },
  {
    name: 'a swap partition in use',
    drive: stick({ partitions: [partition(), partition({ device: '/dev/sdb2', filesystem: 'swap', swap: true })] }),
    status: 'hidden',
    fires: 'swap',
  },
  {
    name: 'a swap file on the drive',
    drive: stick({ swapFiles: ['/media/x/swapfile'] }),
    status: 'hidden',
    fires: 'swap',
  },
  {
    name: 'a swap partition not in use',
    drive: stick({ partitions: [partition({ filesystem: 'swap' })] }),
    status: 'ok',
    fires: null,
    quiet: 'swap',
  },
  {
    name: 'an internal disk (not removable, not virtual)',
    drive: stick({ removable: false, usb: false, bus: 'SATA' }),
    status: 'hidden',
    fires: 'fixed-drive',
  },
  {
    name: 'a virtual disk that is not removable',
    drive: stick({ removable: false, virtual: true }),
    status: 'ok',
    fires: null,
    quiet: 'fixed-drive',
  },
  {
    name: 'a loop device (never removable)',
    drive: stick({ kind: 'loop', device: '/dev/loop3', removable: false, virtual: true, bus: 'LOOP' }),
    status: 'ok',
    fires: null,
    quiet: 'fixed-drive',
  },
  {
    name: 'a removable drive the OS calls a system drive',
    drive: stick({ system: true }),
    status: 'hidden',
    fires: 'system-reported',
  },
  { name: 'zram', drive: stick({ kind: 'memory', device: '/dev/zram0' }), status: 'hidden', fires: 'memory' },
  { name: 'a locked SD card', drive: stick({ readOnly: true, card: true }), status: 'refused', fires: 'read-only' },
  { name: 'an empty card reader', drive: stick({ size: 0, partitions: [] }), status: 'refused', fires: 'no-medium' },
  {
    name: 'a drive smaller than the card',
    drive: stick({ size: 256 * 2 ** 20 }),
    context: { neededBytes: 513 * 2 ** 20 },
    status: 'refused',
    fires: 'too-small',
  },
  {
    name: 'a drive exactly as large as the card',
    drive: stick({ size: 513 * 2 ** 20 }),
    context: { neededBytes: 513 * 2 ** 20 },
    status: 'ok',
    fires: null,
    quiet: 'too-small',
  },
  {
    name: 'the drive holding the boot media',
    drive: stick(),
    context: { held: [{ role: 'source', location: on('/dev/sdb') }] },
    status: 'refused',
    fires: 'holds-source',
  },
  {
    name: 'the drive holding the cache, behind a loop device',
    drive: stick(),
    context: { held: [{ role: 'cache', location: on('/dev/loop0', '/dev/sdb') }] },
    status: 'refused',
    fires: 'holds-cache',
  },
  {
    name: 'the drive holding the output',
    drive: stick(),
    context: { held: [{ role: 'output', location: on('/dev/sdb') }] },
    status: 'refused',
    fires: 'holds-output',
  },
  {
    name: 'media on another drive',
    drive: stick(),
    context: { held: [{ role: 'source', location: on('/dev/sda') }] },
    status: 'ok',
    fires: null,
    quiet: 'holds-source',
  },
  {
    name: 'media in memory (tmpfs)',
    drive: stick(),
    context: { held: [{ role: 'source', location: { kind: 'none', path: '/tmp/a', filesystem: 'tmpfs' } }] },
    status: 'ok',
    fires: null,
    quiet: 'location-unknown',
  },
  {
    name: 'media on a drive that cannot be told',
    drive: stick(),
    context: { held: [{ role: 'source', location: { kind: 'unknown', path: '/a', reason: 'overlay' } }] },
    status: 'ok',
    fires: 'location-unknown',
    quiet: 'holds-source',
  },
  {
    name: 'a partition held by LVM',
    drive: stick({ partitions: [partition({ holders: ['/dev/mapper/vg-data'] })] }),
    status: 'refused',
    fires: 'in-use',
  },
  { name: 'a 256 GB drive', drive: stick({ size: 256 * GB }), status: 'warning', fires: 'large' },
  { name: 'exactly 128 GB', drive: stick({ size: LARGE_DRIVE_BYTES }), status: 'ok', fires: null, quiet: 'large' },
];

describe('classifyDrive', () => {
  it.each(cases)('$name: $status', ({ drive, context, status, fires, quiet }) => {
    const verdict = classifyDrive(drive, context);
    expect(verdict.status).toBe(status);
    if (fires !== null) expect(verdict.reasons.map(({ code }) => code)).toContain(fires);
    if (quiet !== undefined) expect(verdict.reasons.map(({ code }) => code)).not.toContain(quiet);
    for (const reason of verdict.reasons) expect(reason.message).toMatch(/^[a-z]/);
  });

  it.each(SYSTEM_MOUNTPOINTS)('hides a drive with a partition mounted at %s', (mountpoint) => {
    const verdict = classifyDrive(stick({ partitions: [partition({ mountpoints: [mountpoint] })] }));
    expect(verdict.status).toBe('hidden');
    expect(verdict.reasons[0]).toEqual({
      code: 'system-mount',
      effect: 'hide',
      message: `holds the running system: ${mountpoint} (/dev/sdb1)`,
    });
  });

  it('names the mountpoint of a file system stacked on a partition', () => {
    // lsblk puts a LUKS mapping's mountpoints on the partition it is built on.
    const drive = stick({ partitions: [partition({ mountpoints: ['/home'], holders: ['/dev/mapper/home'] })] });
    expect(codes(drive)).toEqual(['system-mount', 'in-use']);
  });

  it('lists every reason, the most serious first', () => {
    const drive = stick({
      size: 200 * GB,
      readOnly: true,
      removable: false,
      partitions: [partition({ mountpoints: ['/srv'] })],
    });
    const verdict = classifyDrive(drive, { held: [{ role: 'cache', location: on('/dev/sdb') }] });
    expect(verdict.reasons.map(({ code, effect }) => `${effect}:${code}`)).toEqual([
      'hide:fixed-drive',
      'refuse:read-only',
      'refuse:holds-cache',
      'confirm:large',
      'note:mounted',
    ]);
  });

  it('says the sizes in a too-small refusal', () => {
    const [reason] = classifyDrive(stick({ size: 256 * 2 ** 20 }), { neededBytes: 513 * 2 ** 20 }).reasons;
    expect(reason?.message).toBe(
      'is too small: the card needs 513 MiB (537919488 bytes), the drive holds 256 MiB (268435456 bytes)',
    );
  });

  it('escapes what the device says in its messages', () => {
    const drive = stick({ partitions: [partition({ mountpoints: ['/media/x\n\x1b[2Jbuilt ok'] })] });
    const message = classifyDrive(drive).reasons[0]?.message ?? '';
    expect(message).toBe('is mounted at /media/x\\n\\x1b[2Jbuilt ok (/dev/sdb1): it will be unmounted before writing');
  });
});

describe('driveText', () => {
  it('trims, escapes and keeps plain text', () => {
    expect(driveText('  Kingston DataTraveler  ')).toBe('Kingston DataTraveler');
    expect(driveText('evil\u202egpj')).toBe('evil\\u202egpj');
    expect(driveText(null)).toBe('');
  });

  it('caps the length without cutting an escape in half', () => {
    expect(driveText('abcdefghij', 5)).toBe('abcd…');
    expect(driveText('abcde', 5)).toBe('abcde');
    expect(driveText('abc\x1bdef', 6)).toBe('abc…');
    expect(driveText('😀😀😀😀', 3)).toBe('😀…');
  });

  it('never shows a control character and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 2, max: 80 }), (text, max) => {
        const shown = driveText(text, max);
        expect(shown.length).toBeLessThanOrEqual(max);
        // Nothing left that displayText would escape: no control character, no bidi override.
        expect(displayText(shown)).toBe(shown);
      }),
    );
  });
});

describe('verdicts (property-based)', () => {
  const mountpoint = fc.oneof(
    fc.constantFrom(...SYSTEM_MOUNTPOINTS),
    fc.constantFrom('/media/user/STICK', '/mnt', '/srv/data', '/home/user/card'),
    fc.string({ maxLength: 20 }).map((text) => `/${text}`),
  );
  const arbitraryPartition = fc.record({
    device: fc.constantFrom('/dev/sdb1', '/dev/sdb2', '/dev/sdb'),
    label: fc.option(fc.string({ maxLength: 11 })),
    filesystem: fc.option(fc.constantFrom('vfat', 'ext4', 'swap', 'crypto_LUKS')),
    size: fc.nat(),
    mountpoints: fc.array(mountpoint, { maxLength: 3 }),
    swap: fc.boolean(),
    holders: fc.array(fc.constantFrom('/dev/dm-0', '/dev/md0'), { maxLength: 1 }),
  });
  const arbitraryDrive: fc.Arbitrary<Drive> = fc.record({
    device: fc.constantFrom('/dev/sdb', '/dev/mmcblk0', '/dev/loop3'),
    kind: fc.constantFrom('disk', 'loop', 'memory'),
    description: fc.string({ maxLength: 40 }),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 41 }), fc.constant(LARGE_DRIVE_BYTES)),
    blockSize: fc.constantFrom(512, 4096),
    bus: fc.constantFrom('USB', 'MMC', 'SATA', 'NVME', 'VIRTIO', 'LOOP', 'UNKNOWN'),
    removable: fc.boolean(),
    card: fc.boolean(),
    usb: fc.boolean(),
    readOnly: fc.boolean(),
    virtual: fc.boolean(),
    system: fc.boolean(),
    serial: fc.option(fc.string({ maxLength: 20 })),
    partitions: fc.array(arbitraryPartition, { maxLength: 4 }),
    swapFiles: fc.array(fc.constant('/swapfile'), { maxLength: 1 }),
    backingFile: fc.option(fc.constant('/tmp/card.img')),
  });
  const arbitraryContext: fc.Arbitrary<DriveContext> = fc.record(
    {
      neededBytes: fc.integer({ min: 1, max: 2 ** 40 }),
      held: fc.array(
        fc.record({
          role: fc.constantFrom('source', 'cache', 'output'),
          location: fc.oneof(
            fc.constantFrom('/dev/sdb', '/dev/sda', '/dev/loop3').map((device) => on(device)),
            fc.constant<PathLocation>({ kind: 'unknown', path: '/x', reason: 'overlay' }),
          ),
        }),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  );
  const mountedAtSystemPath = (drive: Drive) =>
    drive.partitions.some(({ mountpoints }) =>
      mountpoints.some((point) => SYSTEM_MOUNTPOINTS.includes(point.length > 1 ? point.replace(/\/+$/, '') : point)),
    );

  it('a drive with a system mountpoint is always hidden', () => {
    fc.assert(
      fc.property(arbitraryDrive, arbitraryContext, (drive, context) => {
        if (mountedAtSystemPath(drive)) expect(classifyDrive(drive, context).status).toBe('hidden');
      }),
    );
  });

  it('read-only, swap, too small or holding what the write reads: never writable', () => {
    fc.assert(
      fc.property(arbitraryDrive, arbitraryContext, (drive, context) => {
        const blocked =
          drive.readOnly ||
          drive.swapFiles.length > 0 ||
          drive.partitions.some(({ swap }) => swap) ||
          (context.neededBytes !== undefined && drive.size < context.neededBytes) ||
          (context.held ?? []).some(
            ({ location }) => location.kind === 'drives' && location.drives.includes(drive.device),
          );
        if (blocked) expect(isWritable(classifyDrive(drive, context).status)).toBe(false);
      }),
    );
  });

  it('the status is the most serious reason, and ok has no reason beyond notes', () => {
    const rank = { note: 0, confirm: 1, refuse: 2, hide: 3 } as const;
    const statusOf = ['ok', 'warning', 'refused', 'hidden'] as const;
    fc.assert(
      fc.property(arbitraryDrive, arbitraryContext, (drive, context) => {
        const { status, reasons } = classifyDrive(drive, context);
        const worst = Math.max(0, ...reasons.map(({ effect }) => rank[effect]));
        expect(status).toBe(statusOf[worst]);
        const ranks = reasons.map(({ effect }) => rank[effect]);
        expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
      }),
    );
  });

  it('a classified drive crosses the IPC boundary unchanged', () => {
    fc.assert(
      fc.property(arbitraryDrive, arbitraryContext, (drive, context) => {
        const classified = { ...drive, ...classifyDrive(drive, context) };
        expect(classifiedDriveSchema.parse(JSON.parse(JSON.stringify(classified)))).toEqual(classified);
      }),
    );
  });
});

describe('assertDriveWritable', () => {
  const classified = (drive: Drive, context?: DriveContext) => ({ ...drive, ...classifyDrive(drive, context) });

  it('lets an ok drive through', () => {
    expect(() => assertDriveWritable(classified(stick()))).not.toThrow();
  });

  it('refuses a system drive, naming it and every reason', () => {
    const drive = classified(
      stick({ removable: false, description: 'Samsung SSD', partitions: [partition({ mountpoints: ['/'] })] }),
    );
    let error: unknown;
    try {
      assertDriveWritable(drive, { confirmedLarge: true });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toBe(
      'refusing to write to Samsung SSD (/dev/sdb, 29.8 GiB, USB): it holds the running system: / (/dev/sdb1); ' +
        'it is a fixed drive (not removable, not virtual): an internal disk',
    );
    expect((error as AppError).location).toBe('/dev/sdb');
    expect((error as AppError).hint).toMatch(/apkovl drives/);
  });

  it('passes a large drive only once it was confirmed', () => {
    const drive = classified(stick({ size: 256 * GB }));
    expect(() => assertDriveWritable(drive)).toThrow(/larger than 128 GB/);
    expect(() => assertDriveWritable(drive, { confirmedLarge: true })).not.toThrow();
  });

  it('titles a drive with safe text', () => {
    expect(driveTitle(stick({ description: 'Evil\x1b]0;x\x07' }))).toBe('Evil\\x1b]0;x\\x07 (/dev/sdb, 29.8 GiB, USB)');
  });
});
