import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { alpineIsoMissing, createAlpineLikeIso, type AlpineLikeIso } from './alpine-iso.js';
import { bootDisk, haveQemuFirmware, type BootResult, type Firmware } from './qemu-boot.js';
import { missing } from './requirements.js';
import {
  BOOT_MODULES,
  findfsReport,
  findfsScript,
  haveStaticBusybox,
  STATIC_BUSYBOX,
  makeStandinInitramfs,
  testKernel,
  testKernelMissingReason,
  type FindfsReport,
} from './standin-kernel.js';

/**
 * x86 boot tests in one place: what they need, an Alpine-like ISO with the nlplug-findfs
 * stand-in (standin-kernel.ts findfsScript() documents the FINDFS lines), the naive "dd the
 * hybrid ISO, add a FAT partition" disk of issue 10's trap, and assertions on a boot.
 */

/** What x86 boot tests need that is not here, one phrase each (empty: everything is here). */
export function x86BootMissing(firmwares: Firmware[] = ['bios', 'uefi']): string[] {
  const reasons: string[] = [];
  if (!haveQemuFirmware('bios')) reasons.push('qemu-system-x86_64 with SeaBIOS (Debian package qemu-system-x86)');
  if (firmwares.includes('uefi') && !haveQemuFirmware('uefi')) reasons.push('OVMF (Debian package ovmf)');
  if (!haveStaticBusybox()) reasons.push(`a static busybox at ${STATIC_BUSYBOX} (run scripts/fetch-test-kernel.sh)`);
  const packages = alpineIsoMissing();
  if (packages.length > 0) reasons.push(`Debian packages ${packages.join(', ')}`);
  const kernel = testKernelMissingReason();
  if (kernel !== null) reasons.push(kernel);
  return reasons;
}

/**
 * `describe` for a suite that boots x86 machines: skipped here with the reason in its title when
 * something is missing, and a failure under CI=true (requirements.ts `missing`).
 */
export function describeX86Boot(title: string, firmwares: Firmware[], body: () => void): void {
  const reasons = x86BootMissing(firmwares);
  const skip = missing(reasons.length === 0, reasons.join('; '));
  describe.skipIf(skip)(skip ? `${title} (skipped: needs ${reasons.join('; ')})` : title, body);
}

/** The stand-in initramfs of the boot tests: the nlplug-findfs stand-in and its modules. */
export function findfsInitramfs(): Buffer {
  const kernel = testKernel();
  if (kernel === null) throw new Error(`no test kernel: ${testKernelMissingReason()}`);
  return makeStandinInitramfs({ script: findfsScript(), modules: BOOT_MODULES, modulesDir: kernel.modulesDir });
}

/** An Alpine-like ISO (alpine-iso.ts) booting the test kernel and the nlplug-findfs stand-in. */
export function createFindfsIso(options: {
  dir: string;
  version?: string;
  extraFiles?: Record<string, string | Buffer>;
  name?: string;
  initramfs?: Buffer;
}): AlpineLikeIso {
  const kernel = testKernel();
  if (kernel === null) throw new Error(`no test kernel: ${testKernelMissingReason()}`);
  return createAlpineLikeIso({
    dir: options.dir,
    version: options.version,
    kernel: kernel.vmlinuz,
    initramfs: options.initramfs ?? findfsInitramfs(),
    extraFiles: options.extraFiles,
    name: options.name,
  });
}

/** A FAT32 image holding `files` (name at the root -> local file), made by mkfs.vfat and mcopy. */
export function makeFat32Image(file: string, sizeMiB: number, files: Record<string, string>, label = 'APKOVL'): void {
  execFileSync('mkfs.vfat', ['-F', '32', '-s', '1', '-n', label, '-C', file, String(sizeMiB * 1024)], {
    stdio: 'pipe',
  });
  for (const [name, source] of Object.entries(files)) execFileSync('mcopy', ['-i', file, source, `::/${name}`]);
}

/**
 * Issue 10's trap: the hybrid ISO written as dd would, then a FAT32 partition (type 0x0C) after
 * it, 1 MiB aligned, entered in MBR slot 3 (slots 1 and 2 are xorriso's hybrid entries). Returns
 * the partition's first sector.
 */
export function makeNaiveHybridDisk(options: {
  iso: string;
  disk: string;
  fatFiles: Record<string, string>;
  fatMiB?: number;
}): { fatStart: number; fatSectors: number } {
  const fatImage = `${options.disk}.fat`;
  makeFat32Image(fatImage, options.fatMiB ?? 34, options.fatFiles);
  copyFileSync(options.iso, options.disk);
  const mib = 1 << 20;
  const fatOffset = Math.ceil(statSync(options.iso).size / mib) * mib;
  const fat = readFileSync(fatImage);
  const fd = openSync(options.disk, 'r+');
  try {
    writeSync(fd, fat, 0, fat.length, fatOffset);
    const entry = Buffer.alloc(16);
    entry.writeUInt8(0x00, 0); // not active
    entry.set([0xfe, 0xff, 0xff], 1); // CHS: use LBA
    entry.writeUInt8(0x0c, 4); // FAT32 LBA
    entry.set([0xfe, 0xff, 0xff], 5);
    entry.writeUInt32LE(fatOffset / 512, 8);
    entry.writeUInt32LE(fat.length / 512, 12);
    writeSync(fd, entry, 0, 16, 446 + 2 * 16);
  } finally {
    closeSync(fd);
  }
  return { fatStart: fatOffset / 512, fatSectors: fat.length / 512 };
}

export interface FindfsBoot extends BootResult {
  report: FindfsReport;
}

/** Boot a disk whose initramfs is the nlplug-findfs stand-in and read its report. */
export async function bootFindfs(disk: string, firmware: Firmware, timeoutMs = 90_000): Promise<FindfsBoot> {
  const result = await bootDisk({ disk, firmware, timeoutMs });
  return { ...result, report: findfsReport(result.lines) };
}

/** The console output's tail, for assertion messages. */
export function consoleTail(boot: BootResult, lines = 40): string {
  return boot.output.split('\n').slice(-lines).join('\n');
}

/**
 * Boot `disk` under `firmware` and assert what issue 10 asks of a stick: the initramfs ran to
 * the end and powered off, found exactly one boot repository and exactly one apkovl (holding
 * `hostname`), and read the kernel, initramfs and modloop next to the repository intact
 * (`bootFiles`: ISO path such as boot/vmlinuz-lts -> sha256). Returns the boot for more checks.
 */
export async function expectBootsWithApkovl(
  disk: string,
  firmware: Firmware,
  expected: { hostname: string; bootFiles: Map<string, string>; apkovlSha256?: string; timeoutMs?: number },
): Promise<FindfsBoot> {
  const boot = await bootFindfs(disk, firmware, expected.timeoutMs);
  const where = `${firmware} boot of ${path.basename(disk)}; console:\n${consoleTail(boot)}`;
  const { report } = boot;
  expect(report.done, where).toBe(true);
  expect(boot.exitedCleanly, where).toBe(true);
  expect(report.repositories, where).toHaveLength(1);
  expect(report.apkovls, where).toHaveLength(1);
  const [apkovl = ''] = report.apkovls;
  expect(report.hostnames.get(apkovl), where).toBe(expected.hostname);
  if (expected.apkovlSha256 !== undefined) expect(report.sha256.get(apkovl), where).toBe(expected.apkovlSha256);
  const media = path.posix.dirname(report.repositories[0] ?? '');
  for (const [file, sha256] of expected.bootFiles) expect(report.sha256.get(`${media}/${file}`), where).toBe(sha256);
  return boot;
}

/** The boot files of an ISO whose checksums a boot test compares (kernel, initramfs, modloop). */
export function bootFilesOf(iso: AlpineLikeIso): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of ['boot/vmlinuz-lts', 'boot/initramfs-lts', 'boot/modloop-lts']) {
    const sha256 = iso.files.get(file);
    if (sha256 === undefined) throw new Error(`${file} is not in the ISO tree ${iso.tree}`);
    files.set(file, sha256);
  }
  return files;
}
