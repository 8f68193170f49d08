import { Command, Option } from 'commander';
import { AppError } from '../../../shared/errors.js';
import { encodeWire } from '../../../shared/ipc/wire-format.js';
import type { TryEvent } from '../../services/try/try-machine.js';
import type { CommandContext } from '../context.js';
import { describeServeEvent } from './serve.js';

interface TryFlags {
  bios?: boolean;
  display?: boolean;
  memory?: string;
  disk?: 'usb' | 'virtio';
  kvm?: boolean;
  kernel?: string;
  initrd?: string;
  modloop?: string;
  append?: string[];
  mirror?: string[];
  trustedKey?: string;
  cacheDir?: string;
  offline?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A shell-like rendering of the QEMU command, for the log (quoted where needed). */
function shellWords(words: string[]): string {
  return words
    .map((word) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

function describeTryEvent(event: TryEvent): string[] {
  switch (event.kind) {
    case 'note':
      return [event.message];
    case 'warning':
      return [`WARNING: ${event.message}`];
    case 'serve':
      // The machine served and its URL are in the 'starting' line; serve's own start lines would mislead here.
      if (event.event.kind === 'listening') return [];
      return describeServeEvent(event.event).map((line) => `[serve] ${line}`);
    case 'starting':
      return [event.description, `$ ${shellWords([event.command.program, ...event.command.args])}`, event.quit, ''];
  }
}

export function tryCommand(context: CommandContext): Command {
  return new Command('try')
    .summary('boot a machine in QEMU: an x86 card image, or a definition netbooted')
    .description(
      'Boot a machine in QEMU before writing any card. A card image made by apkovl build (x86) boots as a USB ' +
        'stick in snapshot mode (the image is not changed), under UEFI (OVMF), or SeaBIOS with --bios. A machine ' +
        "definition (x86_64 or aarch64) is netbooted: Alpine's netboot kernel, initramfs and modloop (fetched and " +
        'verified like other boot media) boot with apkovl= pointing at a built-in apkovl serve on 127.0.0.1, ' +
        "which the machine reaches through QEMU's user network; its NIC has the definition's first MAC. The " +
        'serial console is this terminal (Ctrl-A X quits QEMU); --display opens a window as well.',
    )
    .argument('<target>', 'a card image (.img) or a machine definition (.yml)')
    .option('--bios', 'boot the image under SeaBIOS (legacy BIOS) instead of UEFI; BIOS+UEFI sticks only')
    .option('--display', 'open a window (VGA console) besides the serial console on this terminal')
    .option('--memory <MiB>', 'memory of the machine in MiB', '1024')
    .addOption(
      new Option(
        '--disk <bus>',
        'attach the image as a USB stick (default) or a virtio disk (kernels without USB)',
      ).choices(['usb', 'virtio']),
    )
    .option('--no-kvm', 'emulate the CPU even where /dev/kvm is there (when KVM fails, e.g. nested)')
    .option('--kernel <file>', 'definitions: boot this kernel instead of Alpine netboot files (custom kernels)')
    .option('--initrd <file>', 'definitions: the initramfs of --kernel')
    .option('--modloop <file>', 'definitions: the modloop of --kernel, served as /modloop-virt')
    .option('--append <parameter>', 'definitions: one more kernel parameter (repeat for more)', collect)
    .option(
      '--mirror <url>',
      "Alpine mirror for the netboot files (repeat for fallbacks; default: the definition's)",
      collect,
    )
    .option('--trusted-key <file>', "OpenPGP key to trust instead of Alpine's release key")
    .option('--cache-dir <dir>', 'download cache (default: the user cache folder, or APKOVL_CACHE_DIR)')
    .option('--offline', 'use only the download cache for the netboot files')
    .option(
      '--json',
      'events as JSON lines on stderr (the console has the terminal), one response line on stdout when QEMU ends',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  apkovl try kiosk.img                     (USB stick under UEFI)',
        '  apkovl try kiosk.img --bios              (the same stick under SeaBIOS)',
        '  apkovl try kiosk.yml --memory 2048       (netboot the definition)',
        '  apkovl try kiosk.yml --kernel vmlinuz --initrd initramfs   (a custom kernel)',
        '',
        'Needs QEMU: Debian/Ubuntu qemu-system-x86 (x86_64) or qemu-system-arm (aarch64), and ovmf for UEFI;',
        'Fedora qemu-system-x86 / qemu-system-aarch64 and edk2-ovmf; macOS brew install qemu.',
        'Without KVM (aarch64 on a PC, or no /dev/kvm) the CPU is emulated: much slower.',
      ].join('\n'),
    )
    .action(async (target: string, flags: TryFlags) => {
      const memoryMiB = Number(flags.memory ?? '1024');
      if ((flags.kernel === undefined) !== (flags.initrd === undefined))
        throw new AppError('usage', 'a custom kernel needs both --kernel and --initrd', {
          location: flags.kernel === undefined ? '--kernel' : '--initrd',
          hint: 'give the kernel and its initramfs, or neither for Alpine netboot files',
        });
      if (flags.modloop !== undefined && flags.kernel === undefined)
        throw new AppError('usage', '--modloop goes with --kernel and --initrd', { location: '--modloop' });
      const json = flags.json === true;
      // The terminal belongs to the machine's console: our lines go to stderr, before QEMU starts.
      const print = (event: TryEvent) => {
        if (json) context.stderr.write(encodeWire({ type: 'event', name: `try.${event.kind}`, payload: event }));
        else context.stderr.write(`${describeTryEvent(event).join('\n')}\n`);
      };
      const result = await context.services.tryMachine({
        target,
        ...(flags.bios === true ? { bios: true } : {}),
        ...(flags.display === true ? { display: true } : {}),
        memoryMiB,
        ...(flags.disk !== undefined ? { disk: flags.disk } : {}),
        ...(flags.kvm === false ? { kvm: false } : {}),
        ...(flags.kernel !== undefined && flags.initrd !== undefined
          ? {
              custom: {
                kernel: flags.kernel,
                initrd: flags.initrd,
                ...(flags.modloop !== undefined ? { modloop: flags.modloop } : {}),
              },
            }
          : {}),
        ...(flags.append !== undefined ? { append: flags.append } : {}),
        fetch: {
          ...(flags.mirror !== undefined ? { mirrors: flags.mirror } : {}),
          ...(flags.trustedKey !== undefined ? { trustedKeyFile: flags.trustedKey } : {}),
          ...(flags.offline === true ? { offline: true } : {}),
        },
        ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
        console: 'inherit',
        onEvent: print,
        signal: context.signal,
      });
      if (!json) context.stderr.write(`\nQEMU ended (exit status ${result.exitCode ?? 'killed'}).\n`);
      context.respond('machine.try', result);
    });
}
