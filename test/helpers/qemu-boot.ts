import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseFindfsLines, type FindfsLine } from './standin-kernel.js';

/**
 * Boot a disk image in QEMU (x86_64, TCG, no KVM needed) under real firmware, the serial
 * console on stdio, and collect what the machine printed. The disk is attached as virtio-blk
 * with snapshot=on, so the image is never written. SeaBIOS ('bios') is QEMU's default firmware;
 * OVMF ('uefi') is EDK2 from Debian's ovmf package.
 */

export type Firmware = 'bios' | 'uefi';

export const OVMF_FIRMWARE = ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd'].find((file) => existsSync(file));
export const SEABIOS_FIRMWARE = '/usr/share/seabios/bios.bin';

/** Whether QEMU and the firmware named can run here. */
export function haveQemuFirmware(firmware: Firmware): boolean {
  if (spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }).status !== 0) return false;
  return firmware === 'uefi' ? OVMF_FIRMWARE !== undefined : existsSync(SEABIOS_FIRMWARE);
}

export interface BootOptions {
  /** A raw disk image (never modified: snapshot=on). */
  disk: string;
  firmware: Firmware;
  /** Direct kernel boot (-kernel/-initrd/-append) instead of the disk's own boot loader. */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Killed (SIGKILL) after this long. */
  timeoutMs: number;
  /** Extra QEMU arguments (another disk, a NIC, ...). */
  extraArgs?: string[];
  memoryMiB?: number;
  /** Stop as soon as a console line matches (the machine is then killed). */
  until?: RegExp;
}

export interface BootResult {
  /** Everything QEMU printed (serial console and QEMU's own messages). */
  output: string;
  /** The stand-in initramfs's FINDFS lines (see findfsScript()), in order. */
  lines: FindfsLine[];
  /** QEMU ended by itself with status 0 (the guest powered off), not by the timeout. */
  exitedCleanly: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** The qemu-system-x86_64 arguments bootDisk uses. */
export function qemuArgs(options: BootOptions): string[] {
  const args = [
    '-machine',
    'pc,accel=tcg',
    '-m',
    String(options.memoryMiB ?? 512),
    '-smp',
    '1',
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-drive',
    `file=${options.disk},format=raw,if=virtio,snapshot=on`,
  ];
  if (options.firmware === 'uefi') {
    if (OVMF_FIRMWARE === undefined) throw new Error('OVMF is not installed (Debian package ovmf)');
    args.push('-bios', OVMF_FIRMWARE);
  }
  if (options.kernel !== undefined) args.push('-kernel', options.kernel);
  if (options.initrd !== undefined) args.push('-initrd', options.initrd);
  if (options.append !== undefined) args.push('-append', options.append);
  return [...args, ...(options.extraArgs ?? [])];
}

export function bootDisk(options: BootOptions): Promise<BootResult> {
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', qemuArgs(options), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<BootResult>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, options.timeoutMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString('latin1');
      if (options.until?.test(output)) qemu.kill('SIGKILL');
    };
    qemu.stdout.on('data', collect);
    qemu.stderr.on('data', collect);
    qemu.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    qemu.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        output,
        lines: parseFindfsLines(output),
        exitedCleanly: !timedOut && signal === null && code === 0,
        timedOut,
        durationMs: Date.now() - started,
      });
    });
  });
}
