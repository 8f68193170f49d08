import zlib from 'node:zlib';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import type { ApkIndexEntryRef } from '../apk/index-fetch.js';
import type { ApkPackage } from '../apk/index-parse.js';
import { compareVersions } from '../apk/version.js';
import { bufferRange, type ByteRange } from './gzip-end.js';
import { bufferSource, TarFormatError, TarReader } from './tar-reader.js';

/**
 * The two pieces of BIOS boot code a BIOS+UEFI stick takes from the release's own `syslinux`
 * package: `mbr.bin` (the disk's master boot record code: it loads the first sector of the
 * partition flagged active) and `isohdppx.bin` (isohybrid boot code built with partition
 * support: from that first sector it loads the ISO's isolinux.bin and tells it where the
 * partition starts, so isolinux reads the ISO 9660 file system inside the partition).
 *
 * Both are syslinux binaries (GPL-2.0+). This tool never ships them: it takes them from the
 * package of the same release as the ISO's isolinux.bin, checked against the release's signed
 * package index, and places them as `dd` would. It writes one field of its own into them: the
 * 512-byte sector of isolinux.bin at byte 432, which is isohybrid's documented interface.
 */

export const MBR_CODE_BYTES = 440;
export const ISOHYBRID_CODE_BYTES = 432;

/** Where syslinux's `make install` puts them (Alpine: /usr/share/syslinux). */
const MBR_PATHS = ['usr/share/syslinux/mbr.bin', 'usr/lib/syslinux/mbr/mbr.bin', 'usr/lib/syslinux/mbr.bin'];
const ISOHYBRID_PATHS = [
  'usr/share/syslinux/isohdppx.bin',
  'usr/lib/ISOLINUX/isohdppx.bin',
  'usr/lib/syslinux/isohdppx.bin',
];

export interface SyslinuxBootCode {
  /** mbr.bin (at most 440 bytes: the code area before the disk signature). */
  mbr: Buffer;
  /** isohdppx.bin (at most 432 bytes: the code area before isohybrid's isolinux.bin pointer). */
  isoPartitionCode: Buffer;
  /** e.g. syslinux-6.04_pre1-r15. */
  packageName: string;
  /** Where the package came from: the boot media's repository or a mirror URL. */
  source: string;
}

/** The newest `syslinux` package of some parsed indexes (its own name, not a provide). */
export function pickSyslinux(packages: readonly ApkPackage[], arch: string): ApkPackage | null {
  const candidates = packages.filter(
    (pkg) => pkg.name === 'syslinux' && (pkg.arch === undefined || pkg.arch === arch || pkg.arch === 'noarch'),
  );
  candidates.sort((a, b) => compareVersions(b.version, a.version));
  return candidates[0] ?? null;
}

export function entryRef(pkg: ApkPackage): ApkIndexEntryRef {
  return { name: pkg.name, version: pkg.version, size: pkg.size, checksum: pkg.checksum.text };
}

/**
 * mbr.bin and isohdppx.bin out of a syslinux .apk that was already checked against its signed
 * index entry (verifyApkRange): every gzip member inflated as one tar stream, as apk reads it.
 */
export async function bootCodeFromApk(
  range: ByteRange,
  source: string,
): Promise<{ mbr: Buffer; isoPartitionCode: Buffer }> {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(await range.read(0, range.size), { maxOutputLength: 256 << 20 });
  } catch (error) {
    throw new AppError('invalid-media', `the syslinux package cannot be inflated: ${(error as Error).message}`, {
      location: source,
      cause: error,
    });
  }
  const found = new Map<string, Buffer>();
  const reader = new TarReader(bufferSource(tar));
  try {
    for (let member = await reader.next(); member !== null; member = await reader.next()) {
      const name = member.name.replace(/^\.?\/+/, '');
      if (member.type !== 'file' || (!MBR_PATHS.includes(name) && !ISOHYBRID_PATHS.includes(name))) continue;
      if (member.size > 4096) continue;
      const chunks: Buffer[] = [];
      for (let piece = await reader.read(); piece !== null; piece = await reader.read())
        chunks.push(Buffer.from(piece));
      found.set(name, Buffer.concat(chunks));
    }
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    throw new AppError('invalid-media', `the syslinux package's tar is damaged: ${error.message}`, {
      location: `${source}, byte ${error.offset} of the inflated package`,
      cause: error,
    });
  }
  const take = (paths: string[], limit: number, what: string): Buffer => {
    const name = paths.find((candidate) => found.has(candidate));
    if (name === undefined) {
      throw new AppError('invalid-media', `the syslinux package holds no ${paths[0]?.split('/').pop()} (${what})`, {
        location: source,
        hint: `expected ${paths[0]}; a BIOS+UEFI stick needs it. Use target.board: x86_64-uefi for a UEFI-only stick`,
      });
    }
    const code = found.get(name) as Buffer;
    if (code.length === 0 || code.length > limit) {
      throw new AppError(
        'invalid-media',
        `${name} in the syslinux package is ${code.length} bytes; boot code for this place holds 1 to ${limit}`,
        { location: source },
      );
    }
    return code;
  };
  return {
    mbr: take(MBR_PATHS, MBR_CODE_BYTES, 'the master boot record code'),
    isoPartitionCode: take(ISOHYBRID_PATHS, ISOHYBRID_CODE_BYTES, 'isohybrid boot code for partitions'),
  };
}

/** bootCodeFromApk over a package held in memory. */
export function bootCodeFromApkBytes(data: Uint8Array, source: string) {
  return bootCodeFromApk(bufferRange(data), source);
}

export function describeBootCodeSource(pkg: ApkPackage, where: string): { packageName: string; source: string } {
  return { packageName: `${pkg.name}-${pkg.version}`, source: displayText(where) };
}
