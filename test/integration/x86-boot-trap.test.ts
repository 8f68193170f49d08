import { createHash } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AlpineLikeIso } from '../helpers/alpine-iso.js';
import type { Firmware } from '../helpers/qemu-boot.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  bootFilesOf,
  bootFindfs,
  consoleTail,
  createFindfsIso,
  describeX86Boot,
  expectBootsWithApkovl,
  findfsInitramfs,
  makeNaiveHybridDisk,
} from '../helpers/x86-boot.js';

/**
 * Issue 10's trap, kept as a regression case: an Alpine-style isohybrid ISO written as dd would,
 * with a FAT32 partition added after it for the apkovl, boots under SeaBIOS (isolinux) and OVMF
 * (GRUB from efi.img), but an initramfs that scans like nlplug-findfs (the disk, then its
 * partitions) mounts the whole disk as ISO 9660 first; every partition mount then fails with
 * EBUSY and the apkovl is never seen. The positive control boots the same kind of ISO with the
 * apkovl inside the ISO tree, to show the harness does see an apkovl when one is reachable.
 *
 * The VMs run one after the other (QEMU TCG, one vCPU each).
 */
describeX86Boot('x86 boot: the naive hybrid ISO + FAT partition layout (issue 10 trap)', ['bios', 'uefi'], () => {
  let temp: ReturnType<typeof makeTempDir>;
  let iso: AlpineLikeIso;
  let trapDisk: string;
  let controlIso: AlpineLikeIso;
  let controlApkovlSha256: string;

  beforeAll(() => {
    temp = makeTempDir('apkovl-x86-trap-');
    const initramfs = findfsInitramfs();
    iso = createFindfsIso({ dir: temp.dir, initramfs });
    const overlay = createOverlay(temp.dir, 'trap-host');
    trapDisk = path.join(temp.dir, 'naive-hybrid.img');
    makeNaiveHybridDisk({ iso: iso.iso, disk: trapDisk, fatFiles: { 'trap-host.apkovl.tar.gz': overlay } });

    const controlOverlay = readFileSync(createOverlay(temp.dir, 'control-host'));
    controlApkovlSha256 = createHash('sha256').update(controlOverlay).digest('hex');
    controlIso = createFindfsIso({
      dir: temp.dir,
      initramfs,
      name: 'control.iso',
      extraFiles: { 'control-host.apkovl.tar.gz': controlOverlay },
    });
    // The control boots as a disk too: the hybrid ISO is its own disk image.
    renameSync(controlIso.iso, path.join(temp.dir, 'control.img'));
    controlIso = { ...controlIso, iso: path.join(temp.dir, 'control.img') };
  });
  afterAll(() => temp.cleanup());

  const firmwares: Firmware[] = ['bios', 'uefi'];

  it.each(firmwares)(
    '%s: the whole disk is mounted as iso9660, the FAT partition fails with EBUSY, no apkovl is found',
    async (firmware) => {
      const boot = await bootFindfs(trapDisk, firmware);
      const where = `${firmware} boot of the naive layout; console:\n${consoleTail(boot)}`;
      const { report } = boot;
      expect(report.done, where).toBe(true);
      expect(boot.exitedCleanly, where).toBe(true);
      // The disk comes first and carries ISO 9660 on its whole surface.
      expect(report.devices[0], where).toEqual({ dev: 'vda', type: 'iso9660' });
      expect(report.mounted.get('vda'), where).toBe('iso9660');
      expect(report.repositories, where).toEqual(['/media/vda/apks']);
      // Our FAT32 partition is there, with a filesystem, and cannot be mounted.
      expect(report.devices, where).toContainEqual({ dev: 'vda3', type: 'vfat' });
      expect(report.mountFailed.get('vda3'), where).toMatch(/Device or resource busy/);
      expect([...report.mounted.keys()], where).toEqual(['vda']);
      expect(report.apkovls, where).toEqual([]);
      expect(report.hostnames.size, where).toBe(0);
      // The boot media itself was read intact: only the apkovl is lost.
      for (const [file, sha256] of bootFilesOf(iso))
        expect(report.sha256.get(`/media/vda/${file}`), where).toBe(sha256);
    },
    120_000,
  );

  it.each(firmwares)(
    '%s: control: the apkovl inside the ISO tree is found',
    async (firmware) => {
      const boot = await expectBootsWithApkovl(controlIso.iso, firmware, {
        hostname: 'control-host',
        bootFiles: bootFilesOf(controlIso),
        apkovlSha256: controlApkovlSha256,
      });
      expect(boot.report.apkovls).toEqual(['/media/vda/control-host.apkovl.tar.gz']);
    },
    120_000,
  );
});
