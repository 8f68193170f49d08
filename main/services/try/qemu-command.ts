/**
 * The QEMU command line of `apkovl try`, as a pure function of what is booted and how: no file,
 * process or host is looked at here (qemu-host.ts finds the programs and firmware).
 */

export type TryArch = 'x86_64' | 'aarch64';

/** UEFI firmware as QEMU loads it: one file with -bios, or code + a writable copy of the variables. */
export type FirmwareFiles = { kind: 'bios-file'; file: string } | { kind: 'pflash'; code: string; vars: string };

export type QemuBoot =
  | {
      /** A disk image booted by its own boot loader, in snapshot mode (never written). */
      kind: 'disk';
      image: string;
      /** usb: qemu-xhci + usb-storage, as a real stick; virtio: for kernels without USB storage. */
      bus: 'usb' | 'virtio';
    }
  | {
      /** Direct kernel boot: Alpine's netboot files (or custom ones) with the kernel parameters. */
      kind: 'kernel';
      kernel: string;
      initrd: string;
      append: string;
    };

export interface QemuPlan {
  arch: TryArch;
  boot: QemuBoot;
  /** x86_64 only: null is QEMU's SeaBIOS; aarch64 direct kernel boot needs none. */
  firmware: FirmwareFiles | null;
  memoryMiB: number;
  cpus: number;
  /** A window (VGA console) besides the serial console; else the serial console alone on stdio. */
  display: boolean;
  /** Use KVM when it works (falls back to emulation by itself: -accel kvm -accel tcg). */
  kvm: boolean;
  /** User-mode network (the guest reaches this machine at 10.0.2.2); null for no network. */
  network: { mac: string } | null;
}

export interface QemuCommand {
  program: string;
  args: string[];
}

export const QEMU_PROGRAMS: Readonly<Record<TryArch, string>> = {
  x86_64: 'qemu-system-x86_64',
  aarch64: 'qemu-system-aarch64',
};

/** The serial console device of the guest kernel, for console= on the command line. */
export function serialConsole(arch: TryArch): string {
  return arch === 'x86_64' ? 'ttyS0' : 'ttyAMA0';
}

/** A -drive/-device value: commas inside a file name are doubled, as QEMU's option syntax wants. */
export function qemuOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

function machineArgs(plan: QemuPlan): string[] {
  const accel = plan.kvm ? ['-accel', 'kvm', '-accel', 'tcg'] : ['-accel', 'tcg'];
  if (plan.arch === 'x86_64') return ['-machine', 'q35', ...accel, '-cpu', 'max'];
  return ['-machine', 'virt', ...accel, '-cpu', 'max'];
}

function firmwareArgs(firmware: FirmwareFiles | null): string[] {
  if (firmware === null) return [];
  if (firmware.kind === 'bios-file') return ['-bios', firmware.file];
  return [
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptionValue(firmware.code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${qemuOptionValue(firmware.vars)}`,
  ];
}

function bootArgs(boot: QemuBoot): string[] {
  if (boot.kind === 'kernel') return ['-kernel', boot.kernel, '-initrd', boot.initrd, '-append', boot.append];
  const file = qemuOptionValue(boot.image);
  if (boot.bus === 'virtio') return ['-drive', `file=${file},format=raw,if=virtio,snapshot=on`];
  return [
    '-device',
    'qemu-xhci,id=xhci',
    '-drive',
    `file=${file},format=raw,if=none,id=stick,snapshot=on`,
    '-device',
    'usb-storage,bus=xhci.0,drive=stick,bootindex=0',
  ];
}

function displayArgs(plan: QemuPlan): string[] {
  // -nographic: the serial console and QEMU's monitor share the terminal (Ctrl-A X quits).
  if (!plan.display) return ['-nographic'];
  const video = plan.arch === 'x86_64' ? ['-vga', 'std'] : ['-device', 'virtio-gpu-pci'];
  const input = plan.arch === 'aarch64' ? ['-device', 'qemu-xhci', '-device', 'usb-kbd', '-device', 'usb-tablet'] : [];
  return [...video, ...input, '-serial', 'mon:stdio'];
}

function networkArgs(plan: QemuPlan): string[] {
  if (plan.network === null) return ['-nic', 'none'];
  return ['-nic', `user,model=virtio-net-pci,mac=${plan.network.mac}`];
}

/** The program and arguments that boot `plan`. */
export function qemuCommand(plan: QemuPlan): QemuCommand {
  if (plan.arch === 'aarch64' && plan.boot.kind === 'disk')
    throw new Error('an aarch64 disk image is not booted by apkovl try (netboot the definition)');
  return {
    program: QEMU_PROGRAMS[plan.arch],
    args: [
      ...machineArgs(plan),
      '-m',
      String(plan.memoryMiB),
      '-smp',
      String(plan.cpus),
      ...firmwareArgs(plan.firmware),
      ...bootArgs(plan.boot),
      ...networkArgs(plan),
      ...displayArgs(plan),
    ],
  };
}

/** The kernel parameters of a netboot: Alpine's initramfs fetches the apkovl and the modloop. */
export function netbootAppend(options: {
  arch: TryArch;
  /** `http://10.0.2.2:<port>/{MAC}.apkovl.tar.gz` */
  apkovlUrl: string;
  modloopUrl: string | null;
  /** `<mirror>/<branch>/<repository>` for each repository of the definition. */
  repositories: string[];
  display: boolean;
  extra?: string[];
}): string {
  const serial = serialConsole(options.arch);
  const words = [
    'modules=loop,squashfs',
    'ip=dhcp',
    `apkovl=${options.apkovlUrl}`,
    ...(options.modloopUrl !== null ? [`modloop=${options.modloopUrl}`] : []),
    ...(options.repositories.length > 0 ? [`alpine_repo=${options.repositories.join(',')}`] : []),
    // The last console= is /dev/console: the window when there is one.
    `console=${serial}`,
    ...(options.display ? ['console=tty0'] : []),
    ...(options.extra ?? []),
  ];
  return words.join(' ');
}
