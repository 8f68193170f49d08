import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { arch as hostArchitecture } from 'node:os';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import { QEMU_PROGRAMS, type FirmwareFiles, type TryArch } from './qemu-command.js';

/**
 * What `apkovl try` needs from this machine: the QEMU program of an architecture, the UEFI
 * firmware (OVMF), and whether KVM can be used; and, for what is missing, the package that
 * brings it on Debian/Ubuntu, Fedora and Homebrew.
 */

export const QEMU_PACKAGES: Readonly<Record<TryArch, string>> = {
  x86_64:
    'Debian/Ubuntu: sudo apt install qemu-system-x86; Fedora: sudo dnf install qemu-system-x86; macOS: brew install qemu',
  aarch64:
    'Debian/Ubuntu: sudo apt install qemu-system-arm; Fedora: sudo dnf install qemu-system-aarch64; macOS: brew install qemu',
};

export const OVMF_PACKAGES =
  'Debian/Ubuntu: sudo apt install ovmf; Fedora: sudo dnf install edk2-ovmf; macOS: brew install qemu (it ships edk2-x86_64-code.fd)';

export const SEABIOS_PACKAGES =
  'Debian/Ubuntu: sudo apt install seabios (qemu-system-x86 depends on it); Fedora: sudo dnf install seabios-bin; macOS: brew install qemu';

/** UEFI firmware files, unified first (-bios), then code + variables templates (pflash). */
const OVMF_UNIFIED = ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd'];
const OVMF_SPLIT: { code: string; vars: string }[] = [
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  ...['/opt/homebrew/share/qemu', '/usr/local/share/qemu'].map((dir) => ({
    code: path.join(dir, 'edk2-x86_64-code.fd'),
    vars: path.join(dir, 'edk2-i386-vars.fd'),
  })),
];
const SEABIOS = ['/usr/share/seabios/bios.bin', '/usr/share/qemu/bios.bin', '/usr/share/qemu/bios-256k.bin'];

/** The directories of $PATH that hold `program`, first match; null when it is not there. */
export function findProgram(program: string, env: Readonly<Record<string, string | undefined>>): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, program);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The QEMU program for `arch`, or an error naming the package to install. */
export function requireQemu(arch: TryArch, env: Readonly<Record<string, string | undefined>>): string {
  const program = QEMU_PROGRAMS[arch];
  const found = findProgram(program, env);
  if (found !== null) return found;
  throw new AppError('not-found', `${program} is not installed (QEMU for ${arch})`, {
    location: program,
    hint: `install it: ${QEMU_PACKAGES[arch]}`,
  });
}

/** Where the UEFI firmware is, as a template (the variables are copied before use), or null. */
export function findOvmf(exists: (file: string) => boolean = existsSync): FirmwareFiles | null {
  const unified = OVMF_UNIFIED.find(exists);
  if (unified !== undefined) return { kind: 'bios-file', file: unified };
  const split = OVMF_SPLIT.find((pair) => exists(pair.code) && exists(pair.vars));
  return split !== undefined ? { kind: 'pflash', ...split } : null;
}

export function requireOvmf(): FirmwareFiles {
  const found = findOvmf();
  if (found !== null) return found;
  throw new AppError('not-found', 'no UEFI firmware (OVMF) for QEMU is installed', {
    location: '--bios',
    hint: `install it: ${OVMF_PACKAGES}; or boot a BIOS+UEFI stick under SeaBIOS with --bios`,
  });
}

/** SeaBIOS is QEMU's own default firmware; its absence makes QEMU fail, so say it first. */
export function requireSeabios(): void {
  if (SEABIOS.some((file) => existsSync(file))) return;
  throw new AppError('not-found', 'no SeaBIOS firmware for QEMU is installed', {
    location: '--bios',
    hint: `install it: ${SEABIOS_PACKAGES}`,
  });
}

/** Node's name of this machine's architecture as QEMU's. */
export function hostArch(): string {
  const name = hostArchitecture();
  return name === 'x64' ? 'x86_64' : name === 'arm64' ? 'aarch64' : name;
}

/** Whether KVM can be used: /dev/kvm exists and this user may open it, and the guest is native. */
export async function kvmUsable(arch: TryArch, host = hostArch()): Promise<{ usable: boolean; why: string | null }> {
  if (arch !== host) return { usable: false, why: `${arch} is emulated on this ${host} machine` };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return { usable: true, why: null };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      usable: false,
      why:
        code === 'ENOENT'
          ? 'there is no /dev/kvm (no hardware virtualisation here, or the kvm module is not loaded)'
          : 'this user may not open /dev/kvm (add it to the kvm group)',
    };
  }
}

/** The warning given up front when the machine will run emulated. */
export function slowWarning(arch: TryArch, why: string): string {
  const how =
    arch === 'aarch64'
      ? 'booting can take several minutes, and everything runs many times slower than on a real board'
      : 'booting takes a minute or more, and everything runs slower than on a real machine';
  return `${why}: QEMU emulates the CPU, so ${how}.`;
}
