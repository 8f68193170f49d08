import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImage } from '../../main/services/image/build-image.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { signedBootRepository } from '../helpers/bios-iso.js';
import {
  bootFilesOf,
  consoleTail,
  createFindfsIso,
  describeX86Boot,
  expectBootsWithApkovl,
} from '../helpers/x86-boot.js';
import type { AlpineLikeIso } from '../helpers/alpine-iso.js';

/**
 * Issue 10's proof: a stick `apkovl build` makes for BIOS and UEFI (the ISO in partition 1,
 * FAT32 with the apkovl in partition 2), from an ISO built as Alpine builds its own, with
 * Debian's isolinux and a stand-in kernel and initramfs that scans block devices the way
 * nlplug-findfs does (the whole disk, then its partitions). Under SeaBIOS (mbr.bin,
 * isohdppx.bin, isolinux) and under OVMF (GRUB from the FAT partition, which finds the ISO by
 * its label), the initramfs must find exactly one boot repository and exactly our apkovl, and
 * read the kernel, initramfs and modloop intact; the kernel must get the definition's parameters.
 * The naive layout of the trap fails the same checks (x86-boot-trap.test.ts).
 */
describeX86Boot('a BIOS+UEFI stick built by apkovl boots under SeaBIOS and OVMF', ['bios', 'uefi'], () => {
  let temp: ReturnType<typeof makeTempDir>;
  let iso: AlpineLikeIso;
  let stick: string;
  let apkovlSha256: string;

  beforeAll(async () => {
    temp = makeTempDir();
    const repository = signedBootRepository(temp.dir);
    iso = createFindfsIso({ dir: temp.dir, extraFiles: repository.files });
    stick = path.join(temp.dir, 'stick.img');
    const summary = await buildImage({
      bootMedia: iso.iso,
      overlay: createOverlay(temp.dir, 'edge-7', { 'etc/.default_boot_services': '' }),
      output: stick,
      partitionBytes: 40 << 20,
      firmware: 'bios-uefi',
      apkKeys: [repository.keyFile],
      cmdlineAppend: ['apkovl.test=bios-uefi'],
    });
    expect(summary.firmware).toEqual(['bios', 'uefi']);
    apkovlSha256 = summary.overlay?.sha256 ?? '';
  }, 120_000);
  afterAll(() => temp.cleanup());

  for (const firmware of ['bios', 'uefi'] as const) {
    it(`${firmware}: the initramfs finds the boot repository in partition 1 and exactly our apkovl in partition 2`, async () => {
      const boot = await expectBootsWithApkovl(stick, firmware, {
        hostname: 'edge-7',
        bootFiles: bootFilesOf(iso),
        apkovlSha256,
        timeoutMs: 120_000,
      });
      const where = consoleTail(boot);
      expect(boot.report.repositories, where).toEqual(['/media/vda1/apks']);
      expect(boot.report.apkovls, where).toEqual(['/media/vda2/edge-7.apkovl.tar.gz']);
      // The whole disk carries no file system; nothing failed to mount.
      expect(boot.report.devices.find((device) => device.dev === 'vda')?.type, where).toBe('none');
      expect([...boot.report.mountFailed.keys()], where).toEqual([]);
      // The definition's kernel parameters reached the kernel (syslinux.cfg or grub.cfg in the ISO).
      expect(boot.report.cmdline, where).toMatch(/(^| )modules=loop,squashfs,sd-mod,usb-storage /);
      expect(boot.report.cmdline, where).toMatch(/(^| )apkovl\.test=bios-uefi( |$)/);
    }, 180_000);
  }
});
