import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, utimesSync } from 'node:fs';
import path from 'node:path';

/**
 * Synthetic Alpine Raspberry Pi boot media, built by the tests: the member names and layout of
 * alpine-rpi-<version>-<arch>.tar.gz (firmware and DTBs at the root, overlays/*.dtbo,
 * boot/{vmlinuz,initramfs,modloop}-rpi, apks/<arch>/*.apk with APKINDEX.tar.gz and
 * .boot_repository, cmdline.txt, config.txt, .alpine-release), with incompressible payloads.
 * Packed as Alpine packs it: tar with ./ prefixes, owner 0:0, gzip.
 */
export interface SyntheticMediaOptions {
  /** Folder to build in; the tree goes to <dir>/tree, the tarball next to it. */
  dir: string;
  arch?: 'aarch64' | 'armv7' | 'armhf';
  version?: string;
  /** Multiplies every payload size; 1 gives about 100 MB of media. */
  scale?: number;
  /** Small files in overlays/ (the dtbo overlays). */
  overlayCount?: number;
  apkCount?: number;
  /** Put a default overlay at the root, as old releases and the uboot tarball do. */
  defaultApkovl?: boolean;
  /** Extra files (path -> content) added to the tree. */
  extraFiles?: Record<string, string | Buffer>;
  /** Leave these media paths out (to make media that is not Alpine's). */
  omit?: string[];
}

export interface SyntheticMedia {
  tarball: string;
  tree: string;
  /** Every file of the tree: media path -> sha256 of the content. */
  files: Map<string, string>;
  /** Uncompressed bytes of file content. */
  bytes: number;
}

const MTIME = Date.UTC(2025, 9, 9, 12, 0, 0) / 1000;

/** Deterministic incompressible bytes: AES-128-CTR of zeros, keyed by the path. */
export function pseudoRandomBytes(label: string, size: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(size));
}

/** Half random, half repeated structure: compresses roughly like firmware and device trees. */
export function semiCompressibleBytes(label: string, size: number): Buffer {
  const random = pseudoRandomBytes(label, size);
  const out = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += 4096) {
    const end = Math.min(size, offset + 4096);
    if ((offset / 4096) % 2 === 0) random.copy(out, offset, offset, end);
    else for (let at = offset; at < end; at += 1) out[at] = (at * 7) & 0x3f;
  }
  return out;
}

/** Lines like a kernel System.map: compresses like text. */
export function textBytes(label: string, size: number): Buffer {
  const seed = pseudoRandomBytes(label, 4096);
  const lines: string[] = [];
  let length = 0;
  for (let index = 0; length < size; index += 1) {
    const line = `ffffffc0${(0x80000 + index * 48).toString(16).padStart(8, '0')} ${'TtDdBbRr'[seed[index % 4096]! % 8]} symbol_${seed[(index * 7) % 4096]}_${index}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/**
 * Writes media files into `tree` with a fixed mtime and records each one's sha256. `omit`
 * lists paths to leave out.
 */
export function mediaTreeWriter(tree: string, omit: Iterable<string> = []) {
  const files = new Map<string, string>();
  const left = new Set(omit);
  const writer = {
    files,
    /** Uncompressed bytes of file content written so far. */
    bytes: 0,
    put: (memberPath: string, content: string | Buffer): void => {
      if (left.has(memberPath)) return;
      const full = path.join(tree, memberPath);
      mkdirSync(path.dirname(full), { recursive: true });
      const data = typeof content === 'string' ? Buffer.from(content) : content;
      writeFileSync(full, data);
      utimesSync(full, MTIME, MTIME);
      files.set(memberPath, createHash('sha256').update(data).digest('hex'));
      writer.bytes += data.length;
    },
  };
  return writer;
}

export function createSyntheticRpiMedia(options: SyntheticMediaOptions): SyntheticMedia {
  const arch = options.arch ?? 'aarch64';
  const version = options.version ?? '3.22.2';
  const scale = options.scale ?? 1;
  const tree = path.join(options.dir, 'tree');
  const writer = mediaTreeWriter(tree, options.omit);
  const put = writer.put;
  const sized = (size: number) => Math.max(1, Math.round(size * scale));
  // Like the real media: kernel, initramfs, modloop and packages are already compressed
  // (incompressible); firmware and device trees compress somewhat; maps and configs are text.
  const random = (memberPath: string, size: number): void =>
    put(memberPath, pseudoRandomBytes(memberPath, sized(size)));
  const firmware = (memberPath: string, size: number): void =>
    put(memberPath, semiCompressibleBytes(memberPath, sized(size)));
  const text = (memberPath: string, size: number): void => put(memberPath, textBytes(memberPath, sized(size)));

  put('.alpine-release', `alpine-rpi-${version} 251009\n`);
  put('cmdline.txt', 'modules=loop,squashfs,sd-mod,usb-storage quiet console=tty1\n');
  put(
    'config.txt',
    '# do not modify this file as it will be overwritten on upgrade.\n# create and/or modify usercfg.txt instead.\n' +
      '# https://www.raspberrypi.com/documentation/computers/config_txt.html\n\n' +
      `kernel=boot/vmlinuz-rpi\ninitramfs boot/initramfs-rpi\narm_64bit=${arch === 'aarch64' ? 1 : 0}\ninclude usercfg.txt\n`,
  );
  firmware('bootcode.bin', 52_480);
  for (const name of ['start.elf', 'start4.elf', 'start_cd.elf', 'start4cd.elf', 'start_x.elf', 'start4x.elf']) {
    firmware(name, 2_900_000);
  }
  for (const name of ['fixup.dat', 'fixup4.dat', 'fixup_cd.dat', 'fixup4cd.dat', 'fixup_x.dat', 'fixup4x.dat']) {
    firmware(name, 7_300);
  }
  text('LICENCE.broadcom', 1_594);
  for (const model of [
    'bcm2710-rpi-3-b',
    'bcm2710-rpi-3-b-plus',
    'bcm2710-rpi-zero-2-w',
    'bcm2711-rpi-4-b',
    'bcm2711-rpi-400',
    'bcm2711-rpi-cm4',
    'bcm2712-rpi-5-b',
    'bcm2712-rpi-cm5-cm5io',
  ]) {
    firmware(`${model}.dtb`, 52_000);
  }
  const overlays = options.overlayCount ?? 300;
  for (let index = 0; index < overlays; index += 1) {
    const names = [
      'vc4-kms-v3d',
      'disable-bt',
      'i2c-gpio',
      'spi0-1cs',
      'w1-gpio',
      'hifiberry-dac',
      'rpi-ft5406',
      'uart',
      'gpio-fan',
      'pwm-2chan',
    ];
    firmware(
      `overlays/${names[index % names.length]}${index >= names.length ? `-${index}` : ''}.dtbo`,
      1_500 + ((index * 37) % 4_000),
    );
  }
  text('overlays/README', 300_000);
  random('boot/vmlinuz-rpi', 22_000_000);
  random('boot/initramfs-rpi', 12_000_000);
  random('boot/modloop-rpi', 45_000_000);
  text('boot/config-rpi', 250_000);
  text('boot/System.map-rpi', 6_500_000);
  put('apks/.boot_repository', '');
  random(`apks/${arch}/APKINDEX.tar.gz`, 40_000);
  const apks = options.apkCount ?? 80;
  for (let index = 0; index < apks; index += 1) {
    random(`apks/${arch}/package-${index}-1.2.${index}-r0.apk`, 20_000 + ((index * 7919) % 400_000));
  }
  if (options.defaultApkovl) put('alpine.apkovl.tar.gz', pseudoRandomBytes('default-apkovl', 512));
  for (const [memberPath, content] of Object.entries(options.extraFiles ?? {})) put(memberPath, content);

  const tarball = path.join(options.dir, `alpine-rpi-${version}-${arch}.tar.gz`);
  execFileSync('sh', [
    '-c',
    `tar -C "$1" --owner=0 --group=0 --numeric-owner --mtime=@${MTIME} -cf - . | gzip -1 > "$2"`,
    'sh',
    tree,
    tarball,
  ]);
  return { tarball, tree, files: writer.files, bytes: writer.bytes };
}

/** A small apkovl (gzip + tar) with etc/hostname, made with the system tar. */
export function createOverlay(dir: string, hostname: string, extra: Record<string, string> = {}): string {
  const root = path.join(dir, `overlay-${hostname}`);
  const entries: Record<string, string> = {
    'etc/hostname': `${hostname}\n`,
    'etc/apk/world': 'alpine-base\n',
    ...extra,
  };
  for (const [memberPath, content] of Object.entries(entries)) {
    mkdirSync(path.dirname(path.join(root, memberPath)), { recursive: true });
    writeFileSync(path.join(root, memberPath), content);
  }
  const file = path.join(dir, `${hostname}-input.apkovl.tar.gz`);
  execFileSync('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-czf', file, 'etc']);
  return file;
}
