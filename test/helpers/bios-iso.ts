import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeAlpineIso } from './alpine-iso.js';
import { offlineDefinition } from './offline-repo.js';
import { mediaTreeWriter, pseudoRandomBytes } from './synthetic-media.js';
import { buildApk, buildApkIndex, apkIndexText, makeApkKey, type SyntheticApkKey } from './synthetic-apk-repo.js';

/**
 * Debian's syslinux files the BIOS tests build with: isolinux (isolinux.bin, isohdpfx.bin,
 * isohdppx.bin) and syslinux-common (mbr.bin, the BIOS modules).
 */
export const DEBIAN_SYSLINUX = {
  isolinux: '/usr/lib/ISOLINUX/isolinux.bin',
  isohdpfx: '/usr/lib/ISOLINUX/isohdpfx.bin',
  isohdppx: '/usr/lib/ISOLINUX/isohdppx.bin',
  mbr: '/usr/lib/syslinux/mbr/mbr.bin',
  modules: '/usr/lib/syslinux/modules/bios',
};

export const haveDebianSyslinux = Object.values(DEBIAN_SYSLINUX).every((file) => existsSync(file));

/** A syslinux package as Alpine ships it (usr/share/syslinux), holding Debian's boot code. */
export function syslinuxPackageFiles(): Record<string, Buffer> {
  return {
    'usr/share/syslinux/mbr.bin': readFileSync(DEBIAN_SYSLINUX.mbr),
    'usr/share/syslinux/isohdpfx.bin': readFileSync(DEBIAN_SYSLINUX.isohdpfx),
    'usr/share/syslinux/isohdppx.bin': readFileSync(DEBIAN_SYSLINUX.isohdppx),
    'usr/share/syslinux/ldlinux.c32': readFileSync(path.join(DEBIAN_SYSLINUX.modules, 'ldlinux.c32')),
  };
}

/**
 * A boot repository (apks/x86_64/) as on Alpine's ISO: APKINDEX.tar.gz signed by a test key,
 * `syslinux` with Debian's boot code where Alpine's package keeps it (unless `withSyslinux` is
 * false) and alpine-base. `files`: ISO path -> content; `keyFile`: the public key, for apkKeys.
 */
export function signedBootRepository(
  dir: string,
  withSyslinux = true,
): { files: Record<string, Buffer>; key: SyntheticApkKey; keyFile: string } {
  const key = makeApkKey('apkovl-bios-test@example.org-0001.rsa.pub');
  const packages = [
    ...(withSyslinux
      ? [buildApk({ name: 'syslinux', version: '6.04_pre1-r15', files: syslinuxPackageFiles() }, 'x86_64', { key })]
      : []),
    buildApk({ name: 'alpine-base', version: '3.22.2-r0' }, 'x86_64', { key }),
  ];
  const files: Record<string, Buffer> = { 'apks/.boot_repository': Buffer.alloc(0) };
  for (const apk of packages) files[`apks/x86_64/${apk.fileName}`] = apk.data;
  files['apks/x86_64/APKINDEX.tar.gz'] = buildApkIndex(apkIndexText(packages), 'boot media', { key });
  const keyFile = path.join(dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  return { files, key, keyFile };
}

export interface BiosIso {
  iso: string;
  tree: string;
  /** ISO path -> sha256. */
  files: Map<string, string>;
  /** The key that signs apks/x86_64/APKINDEX.tar.gz and the packages (trust it with apkKeys). */
  key: SyntheticApkKey;
  keyFile: string;
  volumeId: string;
}

/**
 * An ISO built the way Alpine's mkimage builds its own (scripts/mkimg.iso.sh: xorrisofs with
 * -isohybrid-mbr isohdpfx.bin, isolinux El Torito with a boot info table, the EFI image as
 * alternative El Torito entry, -isohybrid-gpt-basdat), with Debian's isolinux and modules. Its
 * boot repository apks/x86_64/ is signed by a test key and holds `syslinux` (Debian's boot
 * code, where Alpine's package puts it) unless `withSyslinux` is false. The kernel and
 * initramfs are random unless given.
 */
export function createBiosIso(options: {
  dir: string;
  version?: string;
  /** Lines of syslinux.cfg before the LABEL (e.g. SAY lines for a test). */
  syslinuxPreamble?: string[];
  kernel?: Buffer;
  initramfs?: Buffer;
  efiLoader?: Buffer;
  grubConfig?: string;
  append?: string;
  withSyslinux?: boolean;
  /** Extra files (ISO path -> content), e.g. a stray apkovl. */
  extra?: Record<string, string | Buffer>;
}): BiosIso {
  const version = options.version ?? '3.22.2';
  const tree = path.join(options.dir, 'bios-iso-tree');
  const { put, files } = mediaTreeWriter(tree);
  const append = options.append ?? 'modules=loop,squashfs,sd-mod,usb-storage quiet';
  put('.alpine-release', `alpine-standard-${version} 251009\n`);
  put('boot/vmlinuz-lts', options.kernel ?? pseudoRandomBytes('kernel', 300_000));
  put('boot/initramfs-lts', options.initramfs ?? pseudoRandomBytes('initramfs', 200_000));
  put('boot/modloop-lts', pseudoRandomBytes('modloop', 600_000));
  put(
    'boot/grub/grub.cfg',
    options.grubConfig ??
      `set timeout=1\n\nmenuentry "Linux lts" {\nlinux\t/boot/vmlinuz-lts ${append}\ninitrd\t/boot/initramfs-lts\n}\n`,
  );
  put(
    'boot/syslinux/syslinux.cfg',
    [
      'SERIAL 0 115200',
      'TIMEOUT 10',
      'PROMPT 0',
      'DEFAULT lts',
      ...(options.syslinuxPreamble ?? []),
      '',
      'LABEL lts',
      'MENU LABEL Linux lts',
      'KERNEL /boot/vmlinuz-lts',
      'INITRD /boot/initramfs-lts',
      `APPEND ${append}`,
      '',
    ].join('\n'),
  );
  mkdirSync(path.join(tree, 'boot/syslinux'), { recursive: true });
  copyFileSync(DEBIAN_SYSLINUX.isolinux, path.join(tree, 'boot/syslinux/isolinux.bin'));
  copyFileSync(DEBIAN_SYSLINUX.isohdpfx, path.join(tree, 'boot/syslinux/isohdpfx.bin'));
  for (const module of ['ldlinux.c32', 'libcom32.c32', 'libutil.c32', 'mboot.c32']) {
    copyFileSync(path.join(DEBIAN_SYSLINUX.modules, module), path.join(tree, 'boot/syslinux', module));
  }
  const efiLoader = options.efiLoader ?? pseudoRandomBytes('bootx64', 100_000);
  put('efi/boot/bootx64.efi', efiLoader);
  // The El Torito EFI image: a small FAT holding the same loader.
  const efiImage = path.join(tree, 'boot/grub/efi.img');
  execFileSync('mkfs.vfat', ['-C', efiImage, String(Math.ceil(efiLoader.length / 1024) + 512)], { stdio: 'pipe' });
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  execFileSync('mmd', ['-i', efiImage, '::/EFI', '::/EFI/BOOT'], { env });
  const loaderFile = path.join(options.dir, 'bootx64.efi.copy');
  writeFileSync(loaderFile, efiLoader);
  execFileSync('mcopy', ['-i', efiImage, loaderFile, '::/EFI/BOOT/BOOTX64.EFI'], { env });

  const { files: repository, key, keyFile } = signedBootRepository(options.dir, options.withSyslinux !== false);
  for (const [name, content] of Object.entries(repository)) put(name, content);
  for (const [name, content] of Object.entries(options.extra ?? {})) put(name, content);

  const volumeId = `alpine-std ${version} x86_64`;
  const iso = path.join(options.dir, `alpine-standard-${version}-x86_64.iso`);
  makeAlpineIso(tree, iso, volumeId);
  return { iso, tree, files, key, keyFile, volumeId };
}

/**
 * A signed x86_64 package repository for v3.22 served on 127.0.0.1: `main` holds what the
 * generated world always needs (alpine-base, whose name and version match the boot repository's,
 * tzdata, ifupdown-ng), `community` holds htop. `keyFile` is the signing key to trust.
 */
export async function x86PackageMirror(dir: string, name: string) {
  const { startMirror } = await import('./mirror-server.js');
  const { syntheticApkRepo } = await import('./synthetic-apk-repo.js');
  const key = makeApkKey(`${name}@example.org-0001.rsa.pub`);
  const keyFile = path.join(dir, key.name);
  writeFileSync(keyFile, key.publicPem);
  const repo = syntheticApkRepo({
    branch: 'v3.22',
    arch: 'x86_64',
    key,
    repositories: {
      main: [
        { name: 'alpine-base', version: '3.22.2-r0' },
        { name: 'tzdata', version: '2025b-r0' },
        { name: 'ifupdown-ng', version: '0.12.1-r7' },
      ],
      community: [{ name: 'htop', version: '3.4.1-r0', files: { 'usr/bin/htop': Buffer.alloc(90_000, 7) } }],
    },
  });
  const server = await startMirror(repo.files);
  return { server, keyFile, mirror: `${server.url}/alpine` };
}

/** An offline BIOS+UEFI machine (board x86_64) whose world adds htop, from `mirror`. */
export function offlineX86Definition(file: string, hostname: string, mirror: string): string {
  return offlineDefinition(file, { mirror, packages: ['htop'], hostname, board: 'x86_64' });
}
