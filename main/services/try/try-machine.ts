import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { detectFileKind } from '../files/file-kind.js';
import { mirrorRepositoryLines } from '../overlay/generate.js';
import type { FetchedRelease, FetchReleaseOptions } from '../releases/fetch-release.js';
import { startServer, type ServeEvent } from '../serve/apkovl-server.js';
import { readFleetEntry } from '../serve/fleet.js';
import { biosRefusal, imageLayout, type ImageLayout } from './disk-image.js';
import { unpackNetboot, type NetbootFiles } from './netboot-files.js';
import {
  netbootAppend,
  qemuCommand,
  type FirmwareFiles,
  type QemuBoot,
  type QemuCommand,
  type TryArch,
} from './qemu-command.js';
import { kvmUsable, requireOvmf, requireQemu, requireSeabios, slowWarning } from './qemu-host.js';

/**
 * `apkovl try`: boot a machine in QEMU. A card image (x86) boots as a USB stick (or a virtio
 * disk) in snapshot mode, under OVMF or SeaBIOS. A definition is netbooted: Alpine's netboot
 * kernel and initramfs with `apkovl=` pointing at a built-in `apkovl serve` on 127.0.0.1, which
 * the guest reaches at 10.0.2.2 through QEMU's user network, the NIC carrying the definition's MAC.
 */

/** The MAC of the guest's NIC when the definition names none (locally administered, QEMU's prefix). */
export const FALLBACK_MAC = '52:54:00:a0:0b:01';
/** How the guest reaches this machine through QEMU's user network. */
export const HOST_FROM_GUEST = '10.0.2.2';
export const DEFAULT_MEMORY_MIB = 1024;

export interface TryOptions {
  /** A card image made by apkovl build, or a machine definition (.yml). */
  target: string;
  /** SeaBIOS instead of UEFI (images). */
  bios?: boolean;
  display?: boolean;
  memoryMiB?: number;
  /** false: never use KVM (a host whose KVM is broken, e.g. nested); default: when /dev/kvm is usable. */
  kvm?: boolean;
  /** How an image is attached; default usb. */
  disk?: 'usb' | 'virtio';
  /** Definitions: boot this kernel and initramfs (and serve this modloop) instead of Alpine's netboot files. */
  custom?: { kernel: string; initrd: string; modloop?: string };
  /** Extra kernel parameters (definitions). */
  append?: string[];
  /** Where Alpine's netboot files come from (definitions). */
  fetch?: { mirrors?: string[]; trustedKeyFile?: string; offline?: boolean };
  /** inherit: the console is this terminal (the CLI); pipe: output goes to onOutput. */
  console: 'inherit' | 'pipe';
  onOutput?: (chunk: Buffer) => void;
  onEvent?: (event: TryEvent) => void;
  signal?: AbortSignal;
}

export type TryEvent =
  | { kind: 'note'; message: string }
  | { kind: 'warning'; message: string }
  | { kind: 'serve'; event: ServeEvent }
  | { kind: 'starting'; description: string; command: QemuCommand; quit: string };

export interface TryResult {
  mode: 'image' | 'netboot';
  command: QemuCommand;
  /** QEMU's exit status (null when it was killed). */
  exitCode: number | null;
  layout?: ImageLayout;
  hostname?: string;
  mac?: string;
  /** The apkovl= the guest was given. */
  apkovlUrl?: string;
}

export interface TryDependencies {
  env: Readonly<Record<string, string | undefined>>;
  cacheDir: string;
  fetchRelease: (options: Omit<FetchReleaseOptions, 'env' | 'cacheDir' | 'now'>) => Promise<FetchedRelease>;
}

const QUIT_HINT = 'Ctrl-A X quits QEMU (Ctrl-A H lists the other keys); the machine is thrown away';

function checkMemory(memoryMiB: number): void {
  if (!Number.isInteger(memoryMiB) || memoryMiB < 128 || memoryMiB > 65536)
    throw new AppError('usage', `--memory ${memoryMiB} is not a memory size QEMU can give`, {
      location: '--memory',
      hint: 'give MiB between 128 and 65536, such as 1024',
    });
}

/** Run QEMU until it ends (the guest powers off, or Ctrl-A X), or until cancelled. */
function runQemu(command: QemuCommand, options: TryOptions): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const child = spawn(command.program, command.args, {
      stdio: options.console === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    const output = (chunk: Buffer) => options.onOutput?.(chunk);
    child.stdout?.on('data', output);
    child.stderr?.on('data', output);
    const abort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', abort);
      reject(
        new AppError('io', `cannot start ${command.program}: ${error.message}`, {
          location: command.program,
          cause: error,
        }),
      );
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', abort);
      resolve(code);
    });
  });
}

async function kvmFor(arch: TryArch, options: TryOptions): Promise<boolean> {
  const kvm = options.kvm === false ? { usable: false, why: 'KVM is turned off (--no-kvm)' } : await kvmUsable(arch);
  if (!kvm.usable && kvm.why !== null) options.onEvent?.({ kind: 'warning', message: slowWarning(arch, kvm.why) });
  return kvm.usable;
}

async function tryImage(options: TryOptions, dependencies: TryDependencies): Promise<TryResult> {
  const layout = await imageLayout(options.target);
  const refusal = options.bios === true ? biosRefusal(layout, options.target) : null;
  if (refusal !== null) throw refusal;
  requireQemu('x86_64', dependencies.env);
  let firmware: FirmwareFiles | null = null;
  let scratch: string | null = null;
  if (options.bios === true) requireSeabios();
  else {
    const found = requireOvmf();
    if (found.kind === 'pflash') {
      scratch = await mkdtemp(path.join(tmpdir(), 'apkovl-try-'));
      const vars = path.join(scratch, 'OVMF_VARS.fd');
      await copyFile(found.vars, vars);
      firmware = { kind: 'pflash', code: found.code, vars };
    } else firmware = found;
  }
  try {
    const kvm = await kvmFor('x86_64', options);
    const boot: QemuBoot = { kind: 'disk', image: path.resolve(options.target), bus: options.disk ?? 'usb' };
    const command = qemuCommand({
      arch: 'x86_64',
      boot,
      firmware,
      memoryMiB: options.memoryMiB ?? DEFAULT_MEMORY_MIB,
      cpus: 2,
      display: options.display === true,
      kvm,
      network: { mac: FALLBACK_MAC },
    });
    const before = await stat(options.target);
    options.onEvent?.({
      kind: 'starting',
      description:
        `Booting ${displayText(options.target)} (${layout === 'uefi' ? 'UEFI-only stick' : 'BIOS+UEFI stick'}) as a ` +
        `${boot.bus === 'usb' ? 'USB stick' : 'virtio disk'} under ${options.bios === true ? 'SeaBIOS' : 'UEFI (OVMF)'}, ` +
        'in snapshot mode: the image is not changed',
      command,
      quit: QUIT_HINT,
    });
    const exitCode = await runQemu(command, options);
    const after = await stat(options.target);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs)
      throw new AppError('internal', `${displayText(options.target)} changed while QEMU ran in snapshot mode`, {
        location: options.target,
      });
    return { mode: 'image', command, exitCode, layout };
  } finally {
    if (scratch !== null) await rm(scratch, { recursive: true, force: true });
  }
}

async function netbootFiles(
  options: TryOptions,
  dependencies: TryDependencies,
  machine: { board: FetchReleaseOptions['board']; arch: TryArch; branch: string; version?: string; mirror: string },
): Promise<{ files: NetbootFiles; branch: string | null }> {
  if (options.custom !== undefined) {
    for (const [flag, file] of Object.entries(options.custom))
      await stat(file).catch((error: unknown) => {
        throw new AppError('not-found', `cannot read ${displayText(file)}: ${(error as Error).message}`, {
          location: `--${flag}`,
          hint: 'give the kernel, initramfs (and modloop) files of the custom kernel',
        });
      });
    return {
      files: { kernel: options.custom.kernel, initrd: options.custom.initrd, modloop: options.custom.modloop ?? null },
      branch: null,
    };
  }
  const fetched = await dependencies.fetchRelease({
    board: machine.board,
    arch: machine.arch,
    media: 'netboot',
    ...(machine.version !== undefined ? { version: machine.version } : { branch: machine.branch }),
    mirrors: options.fetch?.mirrors?.length ? options.fetch.mirrors : [machine.mirror],
    ...(options.fetch?.trustedKeyFile !== undefined ? { trustedKeyFile: options.fetch.trustedKeyFile } : {}),
    ...(options.fetch?.offline === true ? { offline: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onNote: (message) => options.onEvent?.({ kind: 'note', message }),
  });
  options.onEvent?.({
    kind: 'note',
    message: `${fetched.fileName}: ${fetched.fromCache ? 'from the cache' : 'downloaded'}, SHA-256 and signature checked`,
  });
  const files = await unpackNetboot({
    tarball: fetched.path,
    sha256: fetched.sha256,
    cacheDir: dependencies.cacheDir,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { files, branch: fetched.branch };
}

async function tryDefinition(options: TryOptions, dependencies: TryDependencies): Promise<TryResult> {
  const entry = await readFleetEntry(options.target, null);
  if (entry.kind === 'broken') throw entry.error;
  const machine = entry.loaded.machine;
  const arch = machine.target.arch;
  if (arch !== 'x86_64' && arch !== 'aarch64')
    throw new AppError('invalid-input', `apkovl try netboots x86_64 and aarch64 machines; this one is ${arch}`, {
      location: `${options.target}: target.arch`,
      hint: 'try it with target.arch aarch64 (Pi 3 to 5 boot aarch64), then build the card for the arch you need',
    });
  requireQemu(arch, dependencies.env);
  const kvm = await kvmFor(arch, options);
  const { files, branch } = await netbootFiles(options, dependencies, {
    board: machine.target.board,
    arch,
    branch: machine.alpine.branch,
    ...(machine.alpine.version !== undefined ? { version: machine.alpine.version } : {}),
    mirror: machine.alpine.mirror,
  });
  const named = entry.machine.macs[0];
  const mac = named ?? FALLBACK_MAC;
  if (named === undefined)
    options.onEvent?.({
      kind: 'note',
      message: `the definition names no MAC address: the NIC gets ${FALLBACK_MAC}, served as ${machine.hostname}`,
    });
  const server = await startServer({
    paths: [options.target],
    bind: '127.0.0.1',
    port: 0,
    onEvent: (event) => options.onEvent?.({ kind: 'serve', event }),
    extra: {
      files: files.modloop !== null ? { 'modloop-virt': files.modloop } : {},
      macs: named === undefined ? { [FALLBACK_MAC]: machine.hostname } : {},
    },
  });
  try {
    const base = `http://${HOST_FROM_GUEST}:${server.port}`;
    const apkovlUrl = `${base}/{MAC}.apkovl.tar.gz`;
    const append = netbootAppend({
      arch,
      apkovlUrl,
      modloopUrl: files.modloop !== null ? `${base}/modloop-virt` : null,
      repositories: mirrorRepositoryLines(machine, branch ?? undefined),
      display: options.display === true,
      ...(options.append !== undefined ? { extra: options.append } : {}),
    });
    const command = qemuCommand({
      arch,
      boot: { kind: 'kernel', kernel: files.kernel, initrd: files.initrd, append },
      firmware: null,
      memoryMiB: options.memoryMiB ?? DEFAULT_MEMORY_MIB,
      cpus: 2,
      display: options.display === true,
      kvm,
      network: { mac },
    });
    options.onEvent?.({
      kind: 'starting',
      description:
        `Netbooting ${machine.hostname} (${arch}, NIC ${mac}): its apkovl is served at ${server.url} ` +
        `(${apkovlUrl} from the machine)`,
      command,
      quit: QUIT_HINT,
    });
    const exitCode = await runQemu(command, options);
    return { mode: 'netboot', command, exitCode, hostname: machine.hostname, mac, apkovlUrl };
  } finally {
    await server.close();
  }
}

export async function tryMachine(options: TryOptions, dependencies: TryDependencies): Promise<TryResult> {
  if (options.memoryMiB !== undefined) checkMemory(options.memoryMiB);
  const kind = await detectFileKind(options.target);
  if (kind === 'yaml') {
    if (options.bios === true || options.disk !== undefined)
      throw new AppError('usage', `${options.bios === true ? '--bios' : '--disk'} is for card images`, {
        location: options.bios === true ? '--bios' : '--disk',
        hint: 'a definition is netbooted (direct kernel boot): leave it out',
      });
    return tryDefinition(options, dependencies);
  }
  if (options.custom !== undefined)
    throw new AppError('usage', '--kernel and --initrd are for netbooting a definition', {
      location: '--kernel',
      hint: 'a card image boots with its own kernel: leave them out',
    });
  if (kind === 'other') return tryImage(options, dependencies);
  throw new AppError(
    'invalid-input',
    `${displayText(options.target)} is ${kind === 'gzip' ? 'a gzip file (an apkovl or boot media)' : 'an ISO 9660 image'}, not a card image or a definition`,
    {
      location: options.target,
      hint: 'give a card image made by apkovl build -o FILE, or a machine definition (.yml)',
    },
  );
}
