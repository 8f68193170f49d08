import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { missing } from '../helpers/requirements.js';
import {
  BOOT_MODULES,
  cpioNewc,
  findfsReport,
  findfsScript,
  haveStaticBusybox,
  makeStandinInitramfs,
  parseFindfsLines,
  resolveModules,
  STATIC_BUSYBOX,
  testKernel,
  testKernelMissingReason,
} from '../helpers/standin-kernel.js';

/** The pieces of the x86 boot harness that need no VM: the cpio writer, modules, FINDFS parsing. */
describe('x86 boot harness: FINDFS lines', () => {
  it('parses a console log with firmware noise and carriage returns', () => {
    const log = [
      '\x1b[2JSeaBIOS (version 1.16.2)',
      'FINDFS: device vda iso9660\r',
      'FINDFS: mounted vda iso9660',
      'FINDFS: repository /media/vda/apks',
      'FINDFS: device vda3 vfat',
      'FINDFS: mount-failed vda3 mount: mounting /dev/vda3 on /media/vda3 failed: Device or resource busy',
      'FINDFS: apkovl /media/vda2/h.apkovl.tar.gz',
      'FINDFS: sha256 /media/vda/boot/vmlinuz-lts abc123',
      'FINDFS: hostname /media/vda2/h.apkovl.tar.gz h',
      '[    4.2] reboot: Power down',
    ].join('\n');
    const report = findfsReport(parseFindfsLines(log));
    expect(report.devices).toEqual([
      { dev: 'vda', type: 'iso9660' },
      { dev: 'vda3', type: 'vfat' },
    ]);
    expect(report.mounted).toEqual(new Map([['vda', 'iso9660']]));
    expect(report.mountFailed.get('vda3')).toBe(
      'mount: mounting /dev/vda3 on /media/vda3 failed: Device or resource busy',
    );
    expect(report.repositories).toEqual(['/media/vda/apks']);
    expect(report.apkovls).toEqual(['/media/vda2/h.apkovl.tar.gz']);
    expect(report.sha256.get('/media/vda/boot/vmlinuz-lts')).toBe('abc123');
    expect(report.hostnames.get('/media/vda2/h.apkovl.tar.gz')).toBe('h');
    expect(report.done).toBe(false);
  });
});

describe.skipIf(missing(haveStaticBusybox(), `a static ${STATIC_BUSYBOX} (run scripts/fetch-test-kernel.sh)`))(
  'x86 boot harness: newc cpio (read back by busybox cpio)',
  () => {
    it('lists every entry with its type, size and device number', () => {
      const archive = cpioNewc([
        { name: 'dev', mode: 0o40755 },
        { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
        { name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\necho odd-length\n') },
        { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
      ]);
      const listing = execFileSync(STATIC_BUSYBOX, ['cpio', '-tv'], { input: archive, encoding: 'utf8' });
      const lines = listing.trim().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(/^drwxr-xr-x .* dev$/);
      expect(lines[1]).toMatch(/^crw------- .* dev\/console$/);
      // busybox does not list device numbers: read rdevmajor/rdevminor from the header itself.
      const header = archive.indexOf('dev/console\0') - 110;
      expect(archive.toString('ascii', header, header + 6)).toBe('070701');
      expect(archive.toString('ascii', header + 78, header + 94)).toBe('0000000500000001');
      expect(lines[2]).toMatch(/^-rwxr-xr-x .* 26 .* init$/);
      expect(lines[3]).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/);
      const content = execFileSync(STATIC_BUSYBOX, ['cpio', '-i', '--to-stdout', 'init'], {
        input: archive,
        encoding: 'utf8',
      });
      expect(content).toBe('#!/bin/sh\necho odd-length\n');
    });
  },
);

const kernelMissing = testKernelMissingReason();
describe.skipIf(
  missing(
    kernelMissing === null && haveStaticBusybox(),
    kernelMissing ?? `a static ${STATIC_BUSYBOX} (run scripts/fetch-test-kernel.sh)`,
  ),
)(
  `x86 boot harness: the stand-in initramfs${kernelMissing === null ? '' : ` (skipped: needs ${kernelMissing})`}`,
  () => {
    it('orders modules after their .modinfo dependencies and packs them with busybox and /init', () => {
      const kernel = testKernel();
      if (kernel === null) throw new Error('no test kernel');
      const order = resolveModules(kernel.modulesDir, BOOT_MODULES).map((module) => module.name);
      for (const [before, after] of [
        ['virtio_ring', 'virtio'],
        ['virtio', 'virtio_pci'],
        ['virtio', 'virtio_blk'],
        ['cdrom', 'isofs'],
        ['fat', 'vfat'],
      ] as const) {
        expect(order.indexOf(before), `${before} before ${after} in ${order.join(',')}`).toBeGreaterThanOrEqual(0);
        expect(order.indexOf(before)).toBeLessThan(order.indexOf(after));
      }
      expect(() => resolveModules(kernel.modulesDir, ['no_such_module'])).toThrow(/no_such_module/);

      const initramfs = gunzipSync(
        makeStandinInitramfs({ script: findfsScript(), modules: BOOT_MODULES, modulesDir: kernel.modulesDir }),
      );
      const names = execFileSync(STATIC_BUSYBOX, ['cpio', '-t'], { input: initramfs, encoding: 'utf8' }).split('\n');
      expect(names).toEqual(expect.arrayContaining(['init', 'bin/busybox', 'dev/console', 'lib/modules/isofs.ko']));
      const modules = execFileSync(STATIC_BUSYBOX, ['cpio', '-i', '--to-stdout', 'etc/modules'], {
        input: initramfs,
        encoding: 'utf8',
      });
      expect(modules.trim().split('\n')).toEqual(order);
    });
  },
);
