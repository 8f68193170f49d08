import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { mediaTreeWriter, pseudoRandomBytes } from './synthetic-media.js';

/**
 * A synthetic Alpine x86_64 ISO, built by the tests with xorriso: the tree mkimage makes
 * (boot/ with kernel, initramfs, modloop, GRUB and syslinux, efi/boot/bootx64.efi, apks/,
 * .alpine-release), random payloads. `naming` picks the name extensions, as mkisofs options.
 */
export interface SyntheticIso {
  iso: string;
  tree: string;
  /** Every file: ISO path -> sha256. */
  files: Map<string, string>;
}

export function createSyntheticIso(options: {
  dir: string;
  version?: string;
  flavor?: string;
  scale?: number;
  naming?: 'rock-ridge' | 'joliet' | 'iso9660';
  /** A real EFI loader instead of random bytes. */
  bootloader?: Buffer;
  grubConfig?: string;
  /** Symbolic links to add: ISO path -> stored target. */
  symlinks?: Record<string, string>;
}): SyntheticIso {
  const version = options.version ?? '3.22.2';
  const flavor = options.flavor ?? 'standard';
  const scale = options.scale ?? 0.05;
  const tree = path.join(options.dir, 'iso-tree');
  const { put, files } = mediaTreeWriter(tree);
  const random = (member: string, size: number) =>
    put(member, pseudoRandomBytes(member, Math.max(1, Math.round(size * scale))));
  put('.alpine-release', `alpine-${flavor}-${version} 251009\n`);
  random('boot/vmlinuz-lts', 12_000_000);
  random('boot/initramfs-lts', 10_000_000);
  random('boot/modloop-lts', 60_000_000);
  random('boot/config-lts', 250_000);
  random('boot/System.map-lts', 5_000_000);
  put(
    'boot/grub/grub.cfg',
    options.grubConfig ??
      'set timeout=1\n\nmenuentry "Linux lts" {\nlinux\t/boot/vmlinuz-lts modules=loop,squashfs,sd-mod,usb-storage quiet\ninitrd\t/boot/initramfs-lts\n}\n',
  );
  random('boot/grub/efi.img', 2_000_000);
  random('boot/syslinux/isolinux.bin', 40_000);
  put('boot/syslinux/syslinux.cfg', 'TIMEOUT 10\nDEFAULT lts\nLABEL lts\nKERNEL /boot/vmlinuz-lts\n');
  if (options.bootloader) put('efi/boot/bootx64.efi', options.bootloader);
  else random('efi/boot/bootx64.efi', 1_500_000);
  put('apks/.boot_repository', '');
  random('apks/x86_64/APKINDEX.tar.gz', 40_000);
  for (let index = 0; index < 20; index += 1)
    random(`apks/x86_64/package-${index}-1.0-r0.apk`, 50_000 + index * 10_000);
  for (const [link, target] of Object.entries(options.symlinks ?? {})) symlinkSync(target, path.join(tree, link));
  const iso = path.join(options.dir, `alpine-${flavor}-${version}-x86_64.iso`);
  const naming = options.naming ?? 'rock-ridge';
  const extensions =
    naming === 'rock-ridge'
      ? ['-joliet', '-rational-rock']
      : naming === 'joliet'
        ? ['--norock', '-joliet', '-joliet-long']
        : ['--norock'];
  execFileSync(
    'xorriso',
    [
      '-as',
      'mkisofs',
      '-quiet',
      '-output',
      iso,
      '-full-iso9660-filenames',
      ...extensions,
      '-volid',
      `alpine-std ${version} x86_64`,
      tree,
    ],
    { stdio: 'pipe' },
  );
  return { iso, tree, files };
}
