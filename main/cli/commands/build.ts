import { Command, Option } from 'commander';
import { AppError } from '../../../shared/errors.js';
import { describeFileSpace, formatBytes, parseSize } from '../../../shared/model/size.js';
import type { BuildSummary } from '../../../shared/model/build-image.js';
import type { BuildRequest, BuildRequestInput } from '../../../shared/model/requests.js';
import { checkParameters } from '../../services/boot-media/compose.js';
import { checkPartitionSize } from '../../services/build/card-checks.js';
import {
  DEFAULT_HYBRID_FAT_BYTES,
  DEFAULT_IMAGE_PARTITION_BYTES,
  DEFAULT_VOLUME_LABEL,
} from '../../services/build/defaults.js';
import { sourceKindOf } from '../../services/files/file-kind.js';
import { encodeVolumeLabel } from '../../services/image/fat32-boot-sector.js';
import { assertDriveWritable } from '../../../shared/rules/drive-safety.js';
import { confirmErasure } from '../confirm.js';
import { displayText } from '../../../shared/rules/display.js';
import type { CommandContext } from '../context.js';
import { requireDeviceAccess } from '../privileges.js';
import { collect, flagValue } from '../flags.js';

interface BuildFlags {
  bootMedia?: string;
  mirror?: string[];
  trustedKey?: string;
  cacheDir?: string;
  offline?: boolean;
  apkKey?: string[];
  overlay?: string;
  secrets?: string;
  output?: string;
  device?: string;
  yes?: boolean;
  largeDrive?: boolean;
  verify?: boolean;
  size?: string;
  label?: string;
  usercfg?: string;
  cmdlineAppend?: string[];
  seed?: string;
  firmware?: 'bios-uefi' | 'uefi';
  json?: boolean;
}

const FIRMWARE_NAMES = { rpi: 'Raspberry Pi', uefi: 'UEFI', bios: 'BIOS (legacy)' } as const;

/** "BIOS (legacy) and UEFI PCs", "UEFI PCs (Secure Boot off)", "Raspberry Pi". */
export function describeFirmware(firmware: BuildSummary['firmware']): string {
  if (firmware.length === 0) return 'unknown';
  if (firmware.includes('rpi')) return 'the Raspberry Pi firmware';
  const names = [...firmware].sort().map((name) => FIRMWARE_NAMES[name]);
  return `${names.join(' and ')} PCs (Secure Boot off)`;
}

export function describeBuild(summary: BuildSummary): string {
  const headline =
    summary.destination.kind === 'device'
      ? `Wrote ${summary.output} (${formatBytes(summary.imageBytes)} drive, ${formatBytes(summary.bytesWritten)} written, ${summary.seconds.toFixed(1)} s)`
      : `Built ${summary.output} (${formatBytes(summary.imageBytes)} image, ${summary.seconds.toFixed(2)} s)`;
  const hex = (type: number) => `0x${type.toString(16).padStart(2, '0').toUpperCase()}`;
  const iso = summary.isoPartition;
  const lines = [
    headline,
    `  Alpine       ${summary.alpineRelease ?? 'unknown release'}`,
    `  boots with   ${describeFirmware(summary.firmware)}`,
    ...(iso !== null
      ? [
          `  partition 1  ${formatBytes(iso.bytes)} ISO 9660 "${displayText(iso.volumeId)}" at 1 MiB (MBR type ${hex(iso.type)}, active): kernel, modloop, apks/; read-only`,
          ...(iso.edited.length > 0 ? [`               kernel parameters added to ${iso.edited.join(' and ')}`] : []),
        ]
      : []),
    `  ${iso !== null ? 'partition 2' : 'partition  '}  ${formatBytes(summary.partition.bytes)} FAT32 at ${formatBytes(summary.partition.startLba * 512)} (MBR type ${hex(summary.partition.type)}${summary.partition.bootable ? ', bootable' : ''}), label ${summary.filesystem.label}, serial ${summary.filesystem.volumeId}`,
    `  space        ${describeFileSpace(summary.partition.bytes, summary.filesystem.clusters * summary.filesystem.clusterSize)}`,
    `  clusters     ${summary.filesystem.clusters} of ${formatBytes(summary.filesystem.clusterSize)}`,
    `  content      ${summary.files} files in ${summary.directories} folders, ${formatBytes(summary.fileBytes)}`,
  ];
  if (summary.overlay) {
    lines.push(
      `  overlay      ${displayText(summary.overlay.fileName)} (sha256 ${summary.overlay.sha256.slice(0, 16)}...)`,
    );
  }
  for (const name of summary.injected.filter((name) => name !== summary.overlay?.fileName)) {
    lines.push(`  added        ${displayText(name)}`);
  }
  for (const name of summary.dropped)
    lines.push(`  removed      ${displayText(name)} (an overlay shipped with the boot media)`);
  if (summary.offlinePackages !== null) {
    const offline = summary.offlinePackages;
    lines.push(
      `  apk cache    ${offline.packages} packages (${formatBytes(offline.packageBytes)}) and ${offline.indexes} signed indexes in cache/, verified; ${offline.onBootMedia} more on the boot media`,
    );
  }
  if (summary.bootCode !== null) {
    lines.push(
      `  boot code    mbr.bin and isohdppx.bin from ${summary.bootCode.package} (${displayText(summary.bootCode.source)})`,
    );
  }
  lines.push(`  manifest     ${summary.manifest.path} (${summary.manifest.files} files with their SHA-256)`);
  lines.push(`  free space   ${formatBytes(summary.filesystem.freeBytes)}`);
  if (summary.verification !== null) {
    lines.push(
      `  read back    ${formatBytes(summary.verification.bytes)} in ${summary.verification.ranges} ranges${summary.verification.uncached ? ', bypassing every cache of this computer' : ''}: identical (${summary.verification.seconds.toFixed(1)} s)`,
    );
  }
  for (const warning of summary.warnings) lines.push(`  warning      ${warning}`);
  return lines.join('\n');
}

export function buildCommand(context: CommandContext): Command {
  return new Command('build')
    .summary(
      'write a bootable card image (or, with --device, the card itself) from Alpine boot media and a definition or an apkovl',
    )
    .description(
      'Write a card image: an MBR with one FAT32 partition at 1 MiB holding the Alpine boot media ' +
        "(for an x86 stick that boots BIOS and UEFI PCs: Alpine's ISO in partition 1, FAT32 beside it), " +
        'with any default apkovl removed and yours added as <hostname>.apkovl.tar.gz. ' +
        'Everything streams in one pass; the image appears only when it is complete.',
    )
    .argument('[definition]', 'machine definition (YAML) to generate the apkovl and card settings from')
    .option(
      '--boot-media <file>',
      'Alpine boot media (.tar.gz for a Pi, .iso for x86); default: fetched for the definition',
    )
    .option(
      '--mirror <url>',
      "Alpine mirror to fetch from (repeat for fallbacks; default: the definition's); with --boot-media, where a BIOS+UEFI stick's syslinux package comes from when the ISO lacks it",
      collect,
    )
    .option('--trusted-key <file>', "OpenPGP key to trust instead of Alpine's release key")
    .option('--cache-dir <dir>', 'download cache (default: the user cache folder, or APKOVL_CACHE_DIR)')
    .option('--offline', 'use only the download cache (boot media, and the packages of alpine.offline)')
    .option(
      '--apk-key <file>',
      "also trust this apk signing key (RSA public key, PEM) for package indexes, e.g. a private repository's (repeat for more)",
      collect,
    )
    .option('--overlay <file>', 'an apkovl to put on the card (*.apkovl.tar.gz), instead of a definition')
    .option('--secrets <file>', 'secrets file for ${secret:name} references in the definition')
    .option('-o, --output <file>', 'image file to create (replaced only on success)')
    .option('--device <device>', 'write the card straight to this drive (e.g. /dev/sdb), erasing it; Linux, as root')
    .option('--yes', 'with --device: do not ask (for scripts); the drive rules still apply')
    .option('--large-drive', 'with --device --yes: the drive really is larger than 128 GB')
    .option('--verify', 'with --output: read the image back and compare (a device is always read back)')
    .option(
      '--size <size>',
      `size of the FAT32 partition, e.g. 256MiB, 2GiB (default ${formatBytes(DEFAULT_IMAGE_PARTITION_BYTES)}, the image 1 MiB larger; on a BIOS+UEFI stick ${formatBytes(DEFAULT_HYBRID_FAT_BYTES)} after the ISO)`,
    )
    .option('--label <label>', `FAT volume label, up to 11 characters (default ${DEFAULT_VOLUME_LABEL})`)
    .option('--usercfg <file>', 'file to store as usercfg.txt (Raspberry Pi settings such as dtoverlay=...)')
    .option(
      '--cmdline-append <parameter>',
      'kernel parameter to append to cmdline.txt (repeat for more), e.g. usbdelay=5',
      (value: string, previous: string[] = []) =>
        flagValue('--cmdline-append', () => [...previous, ...checkParameters([value])]),
    )
    .addOption(
      new Option(
        '--firmware <firmware>',
        "x86 sticks: bios-uefi (the ISO in partition 1, boots BIOS and UEFI PCs) or uefi (one FAT32 partition); default: the definition's board (x86_64: bios-uefi, x86_64-uefi: uefi), else uefi",
      ).choices(['bios-uefi', 'uefi']),
    )
    .option('--seed <text>', 'mixed into the volume serial, to tell otherwise identical cards apart')
    .option('--json', 'machine-readable output: JSON lines for progress, then one result line')
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl build kiosk.yml --secrets secrets.yml --output kiosk.img     (fetches the boot media)\n' +
        '  apkovl build kiosk.yml --secrets secrets.yml --boot-media alpine-rpi-3.22.2-aarch64.tar.gz --output kiosk.img\n' +
        '  apkovl build --boot-media alpine-rpi-3.22.2-aarch64.tar.gz \\\n' +
        '    --overlay kiosk-hall.apkovl.tar.gz --output kiosk.img --size 1GiB\n' +
        '  sudo apkovl build kiosk.yml --secrets secrets.yml --device /dev/sdb     (asks you to type sdb first)\n\n' +
        'SOURCE_DATE_EPOCH, when set, is the timestamp of the files the tool adds.',
    )
    .action(async (source: string | undefined, flags: BuildFlags) => {
      if ((source === undefined) === (flags.overlay === undefined)) {
        throw new AppError('usage', 'give a machine definition or --overlay (one of them)', {
          hint: 'apkovl build machine.yml --boot-media ... --output card.img',
        });
      }
      const partitionBytes =
        flags.size === undefined
          ? undefined
          : flagValue('--size', () => {
              const bytes = parseSize(flags.size as string, '--size');
              checkPartitionSize(bytes, '--size');
              return bytes;
            });
      if (flags.label !== undefined) flagValue('--label', () => encodeVolumeLabel(flags.label as string));
      if ((flags.output === undefined) === (flags.device === undefined)) {
        throw new AppError('usage', 'give --output (an image file) or --device (a drive), one of them', {
          location: flags.output === undefined ? '--output' : '--device',
          hint: 'apkovl build machine.yml --output card.img, or sudo apkovl build machine.yml --device /dev/sdb',
        });
      }
      const destination =
        flags.device === undefined
          ? { kind: 'image' as const, path: flags.output as string }
          : await confirmedDevice(context, flags.device, flags, await bootsOf(source, flags));
      const output = context.output(flags.json === true);
      const request = await buildRequestFromFlags(source, flags, partitionBytes, destination);
      const summary = await context.services.build(request, {
        onProgress: (event) => output.progress(event),
        onNote: (text) => output.note(text),
        signal: context.signal,
      });
      output.settle();
      context.respond('card.build', summary);
      if (flags.json !== true) context.stdout.write(`${describeBuild(summary)}\n`);
    });
}

/**
 * What the card will boot, from the definition's board and --firmware, for the confirmation;
 * undefined when only the build can tell (an apkovl with boot media of unknown kind).
 */
export async function bootsOf(source: string | undefined, flags: BuildFlags): Promise<string | undefined> {
  let board: string | undefined;
  if (source !== undefined && flags.overlay === undefined) {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    try {
      const document = parse(await readFile(source, 'utf8')) as { target?: { board?: unknown } } | null;
      if (typeof document?.target?.board === 'string') board = document.target.board;
    } catch {
      return undefined; // the build reports what is wrong with the definition
    }
  }
  if (board === 'rpi') return 'a Raspberry Pi (one FAT32 partition)';
  const firmware = flags.firmware ?? (board === 'x86_64' ? 'bios-uefi' : board === 'x86_64-uefi' ? 'uefi' : undefined);
  if (firmware === 'bios-uefi') return 'PCs with BIOS (legacy) or UEFI (the ISO in partition 1, FAT32 beside it)';
  if (firmware === 'uefi') return 'PCs with UEFI only, Secure Boot off (one FAT32 partition)';
  return undefined;
}

/** The command line as the one build request every front end sends. */
async function buildRequestFromFlags(
  source: string | undefined,
  flags: BuildFlags,
  partitionBytes: number | undefined,
  destination: BuildRequestInput['destination'],
): Promise<BuildRequest> {
  const sourceRequest =
    source === undefined
      ? { kind: 'apkovl' as const, file: flags.overlay as string }
      : (await sourceKindOf(source, 'the first argument')) === 'definition'
        ? {
            kind: 'definition' as const,
            file: source,
            ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
          }
        : { kind: 'apkovl' as const, file: source };
  if (sourceRequest.kind === 'apkovl' && flags.secrets !== undefined) {
    throw new AppError('usage', '--secrets belongs to a machine definition, and an apkovl was given', {
      location: '--secrets',
      hint: 'secrets are baked into an apkovl when it is generated; leave --secrets out',
    });
  }
  // The schema library is loaded only when a command needs it: --help and the like start fast.
  const { buildRequestSchema } = await import('../../../shared/model/requests.js');
  const parsed = buildRequestSchema.safeParse({
    source: sourceRequest,
    media:
      flags.bootMedia !== undefined
        ? { kind: 'file', path: flags.bootMedia }
        : {
            kind: 'fetch',
            mirrors: flags.mirror ?? [],
            ...(flags.trustedKey !== undefined ? { trustedKeyFile: flags.trustedKey } : {}),
            ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
            offline: flags.offline === true,
          },
    destination,
    verify: flags.verify === true,
    packages: {
      apkKeys: flags.apkKey ?? [],
      offline: flags.offline === true,
      ...(flags.bootMedia !== undefined && flags.mirror !== undefined ? { mirrors: flags.mirror } : {}),
      ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    },
    card: {
      ...(partitionBytes !== undefined ? { partitionBytes } : {}),
      ...(flags.label !== undefined ? { volumeLabel: flags.label } : {}),
      ...(flags.usercfg !== undefined ? { usercfgFile: flags.usercfg } : {}),
      cmdlineAppend: flags.cmdlineAppend ?? [],
      ...(flags.firmware !== undefined ? { firmware: flags.firmware } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    },
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('usage', issue?.message ?? 'invalid options', { location: issue?.path.join('.') ?? '' });
  }
  return parsed.data;
}

/**
 * The drive named with --device, as the user confirms it: refused at once when it is unsafe
 * (the services refuse it again when they write), then shown with what will be erased.
 */
async function confirmedDevice(
  context: CommandContext,
  device: string,
  flags: BuildFlags,
  boots: string | undefined,
): Promise<BuildRequestInput['destination']> {
  await requireDeviceAccess(device);
  const { drive, identity } = await context.services.describeTarget(device);
  assertDriveWritable(drive, { confirmedLarge: true });
  const { largeDriveConfirmed } = await confirmErasure(context, drive, flags, boots);
  return { kind: 'device', path: device, confirmed: identity, largeDriveConfirmed };
}
