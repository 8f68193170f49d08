import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mediaTreeWriter, pseudoRandomBytes } from './synthetic-media.js';

/**
 * An Alpine-like x86_64 ISO that really boots: the tree and the xorrisofs call of aports'
 * scripts/mkimg.base.sh and mkimg.iso.sh (syslinux, GRUB EFI, create_image_iso), with Debian's
 * isolinux and syslinux modules, a GRUB EFI loader built by Debian's grub-mkimage the way
 * Alpine's build_grub_efi does, and a stand-in kernel and initramfs (standin-kernel.ts).
 *
 *   boot/vmlinuz-lts, boot/initramfs-lts, boot/modloop-lts (random)
 *   boot/syslinux/{isolinux.bin,ldlinux.c32,libcom32.c32,libutil.c32,mboot.c32,syslinux.cfg}
 *   boot/grub/grub.cfg, boot/grub/efi.img (FAT holding efi/boot/bootx64.efi)
 *   efi/boot/bootx64.efi, apks/.boot_repository, apks/x86_64/*, .alpine-release
 */

export const ISOLINUX_DIR = '/usr/lib/ISOLINUX';
export const SYSLINUX_BIOS_MODULES = '/usr/lib/syslinux/modules/bios';
export const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

/** Tools and files createAlpineLikeIso needs, as Debian packages (empty when all are there). */
export function alpineIsoMissing(): string[] {
  const missing: string[] = [];
  const need = (file: string, what: string) => existsSync(file) || missing.push(what);
  need(path.join(ISOLINUX_DIR, 'isohdpfx.bin'), 'isolinux');
  need(path.join(SYSLINUX_BIOS_MODULES, 'ldlinux.c32'), 'syslinux-common');
  need('/usr/lib/grub/x86_64-efi/iso9660.mod', 'grub-efi-amd64-bin');
  need('/usr/bin/xorrisofs', 'xorriso');
  need('/usr/bin/mformat', 'mtools');
  return missing;
}

/** Alpine's initfs_cmdline; kernel_cmdline adds the serial console for the tests. */
export const ALPINE_CMDLINE = 'modules=loop,squashfs,sd-mod,usb-storage quiet console=ttyS0';

/** aports mkimg.base.sh build_grub_efi's module list, plus serial and terminal for the tests. */
export const ALPINE_GRUB_MODULES = [
  'all_video',
  'disk',
  'part_gpt',
  'part_msdos',
  'linux',
  'normal',
  'configfile',
  'search',
  'search_label',
  'efi_gop',
  'fat',
  'iso9660',
  'cat',
  'echo',
  'ls',
  'test',
  'true',
  'help',
  'gzio',
  'multiboot2',
  'efi_uga',
  'serial',
  'terminal',
];

export interface AlpineLikeIso {
  iso: string;
  tree: string;
  /** ISO 9660 volume ID, also the label the GRUB EFI image searches for. */
  volid: string;
  /** Every file of the tree: ISO path -> sha256. */
  files: Map<string, string>;
}

export function isoLabel(version: string): string {
  return `alpine-std ${version} x86_64`;
}

export function createAlpineLikeIso(options: {
  dir: string;
  version?: string;
  /** The stand-in kernel (bzImage) to ship as boot/vmlinuz-lts. */
  kernel: string | Buffer;
  /** The stand-in initramfs to ship as boot/initramfs-lts. */
  initramfs: Buffer;
  /** Kernel command line in syslinux.cfg and grub.cfg (default ALPINE_CMDLINE). */
  cmdline?: string;
  /** The label the embedded GRUB config searches for (default: the ISO's volume ID). */
  grubEarlyLabel?: string;
  /** More files for the tree (ISO path -> content), e.g. an apkovl at the root. */
  extraFiles?: Record<string, string | Buffer>;
  /** Name of the ISO file (default alpine-standard-<version>-x86_64.iso). */
  name?: string;
}): AlpineLikeIso {
  const version = options.version ?? '3.22.2';
  const volid = isoLabel(version);
  const cmdline = options.cmdline ?? ALPINE_CMDLINE;
  const name = options.name ?? `alpine-standard-${version}-x86_64.iso`;
  const tree = path.join(options.dir, `${name}.tree`);
  rmSync(tree, { recursive: true, force: true });
  const { put, files } = mediaTreeWriter(tree);

  put('.alpine-release', `alpine-standard-${version} 251009\n`);
  put('boot/vmlinuz-lts', typeof options.kernel === 'string' ? readFileSync(options.kernel) : options.kernel);
  put('boot/initramfs-lts', options.initramfs);
  put('boot/modloop-lts', pseudoRandomBytes(`modloop-${version}`, 1 << 20));
  put('boot/config-lts', 'CONFIG_X86_64=y\n');

  // mkimg.base.sh section_syslinux / syslinux_gen_config.
  // isolinux.bin is listed as copied: xorrisofs patches its boot info table into the ISO's copy.
  for (const file of ['isolinux.bin', 'isohdpfx.bin'])
    put(`boot/syslinux/${file}`, readFileSync(path.join(ISOLINUX_DIR, file)));
  for (const file of ['ldlinux.c32', 'libutil.c32', 'libcom32.c32', 'mboot.c32'])
    put(`boot/syslinux/${file}`, readFileSync(path.join(SYSLINUX_BIOS_MODULES, file)));
  put(
    'boot/syslinux/syslinux.cfg',
    [
      'SERIAL 0 115200',
      'TIMEOUT 10',
      'PROMPT 1',
      'DEFAULT lts',
      '',
      'LABEL lts',
      'MENU LABEL Linux lts',
      'KERNEL /boot/vmlinuz-lts',
      'INITRD /boot/initramfs-lts',
      `APPEND ${cmdline}`,
      '',
    ].join('\n'),
  );

  // mkimg.base.sh grub_gen_config, with the serial console.
  put(
    'boot/grub/grub.cfg',
    [
      'serial --unit=0 --speed=115200',
      'terminal_input serial console',
      'terminal_output serial console',
      'set timeout=1',
      '',
      'menuentry "Linux lts" {',
      `linux\t/boot/vmlinuz-lts ${cmdline}`,
      'initrd\t/boot/initramfs-lts',
      '}',
      '',
    ].join('\n'),
  );

  // mkimg.base.sh grub_gen_earlyconf + build_grub_efi, then the El Torito FAT image.
  const work = path.join(options.dir, `${name}.grub`);
  mkdirSync(work, { recursive: true });
  const early = path.join(work, 'grub_early.cfg');
  writeFileSync(
    early,
    `search --no-floppy --set=root --label "${options.grubEarlyLabel ?? volid}"\nset prefix=($root)/boot/grub\n`,
  );
  const loader = path.join(work, 'bootx64.efi');
  execFileSync('grub-mkimage', [
    `--config=${early}`,
    '--prefix=/boot/grub',
    `--output=${loader}`,
    '--format=x86_64-efi',
    '--compression=xz',
    ...ALPINE_GRUB_MODULES,
  ]);
  put('efi/boot/bootx64.efi', readFileSync(loader));
  const efiImg = path.join(tree, 'boot/grub/efi.img');
  execFileSync('mformat', ['-i', efiImg, '-C', '-f', '1440', '-N', '0', '::']);
  execFileSync('mcopy', ['-s', '-i', efiImg, path.join(tree, 'efi'), '::']);
  files.set('boot/grub/efi.img', sha256File(efiImg));

  put('apks/.boot_repository', '');
  put('apks/x86_64/APKINDEX.tar.gz', pseudoRandomBytes('APKINDEX', 4000));
  for (let index = 0; index < 3; index += 1)
    put(`apks/x86_64/package-${index}-1.0-r0.apk`, pseudoRandomBytes(`package-${index}`, 20_000));
  for (const [file, content] of Object.entries(options.extraFiles ?? {})) put(file, content);

  const iso = path.join(options.dir, name);
  makeAlpineIso(tree, iso, volid);
  return { iso, tree, volid, files };
}

/**
 * An ISO from `tree` the way Alpine's mkimg.iso.sh (create_image_iso) makes one: isohybrid MBR,
 * isolinux El Torito with a boot info table, the EFI image as the alternative entry, a GPT for
 * the EFI image, Joliet and Rock Ridge names.
 */
export function makeAlpineIso(tree: string, iso: string, volid: string): void {
  execFileSync(
    'xorrisofs',
    [
      '-quiet',
      '-output',
      iso,
      '-full-iso9660-filenames',
      '-joliet',
      '-rational-rock',
      '-sysid',
      'LINUX',
      '-volid',
      volid,
      '-isohybrid-mbr',
      path.join(ISOLINUX_DIR, 'isohdpfx.bin'),
      '-eltorito-boot',
      'boot/syslinux/isolinux.bin',
      '-eltorito-catalog',
      'boot/syslinux/boot.cat',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '-eltorito-alt-boot',
      '-e',
      'boot/grub/efi.img',
      '-no-emul-boot',
      '-isohybrid-gpt-basdat',
      '-follow-links',
      tree,
    ],
    { stdio: 'pipe' },
  );
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
