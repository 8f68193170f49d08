import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { AppError } from '../../../shared/errors.js';
import type { Medium, VerifyRequest } from '../../../shared/model/requests.js';
import { displayText } from '../../../shared/rules/display.js';
import { detectFileKind } from '../../services/files/file-kind.js';
import type { CommandContext } from '../context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { describeVerifyReport } from '../verify-text.js';

interface VerifyFlags {
  machine?: string;
  secrets?: string;
  bootMedia?: string;
  cacheDir?: string;
  apkKey?: string[];
  json?: boolean;
}

const NOT_A_CARD: Record<string, string> = {
  gzip: 'a gzip file (an apkovl or boot media)',
  yaml: 'a text file (a machine definition?)',
  iso9660: 'an ISO 9660 image (boot media)',
};

async function hasFatPartition(path: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const { decodeMbr } = await import('../../services/image/mbr.js');
  const handle = await open(path, 'r');
  try {
    const sector = Buffer.alloc(512);
    await handle.read(sector, 0, 512, 0);
    return (decodeMbr(sector)?.partitions ?? []).some((entry) => [0x06, 0x0b, 0x0c, 0x0e].includes(entry.type));
  } finally {
    await handle.close();
  }
}

/** A device or an image file, decided by what the path is; files that are plainly no card are refused. */
async function mediumOf(path: string): Promise<Medium> {
  const info = await stat(path).catch((error: unknown) => {
    throw new AppError('not-found', `${displayText(path)} does not exist: ${(error as Error).message}`, {
      location: path,
      hint: 'name a device such as /dev/sdb or /dev/mmcblk0 (apkovl drives lists them), or a card image file',
    });
  });
  if (info.isBlockDevice()) return { kind: 'device', path };
  if (!info.isFile()) {
    throw new AppError('usage', `${displayText(path)} is neither a block device nor an image file`, { location: path });
  }
  const kind = await detectFileKind(path);
  const what = NOT_A_CARD[kind];
  // An ISO written as dd would, with a FAT partition added to its table, is a stick to examine
  // (verify then explains why its apkovl is never read).
  if (kind === 'iso9660' && (await hasFatPartition(path))) return { kind: 'image', path };
  if (what !== undefined) {
    throw new AppError('usage', `${displayText(path)} is ${what}, not a card image`, {
      location: path,
      hint:
        kind === 'yaml'
          ? `give the card first: apkovl verify card.img --machine ${path}`
          : 'give the card (a device or an image written by apkovl build); boot media go after --boot-media',
    });
  }
  return { kind: 'image', path };
}

export function verifyCommand(context: CommandContext): Command {
  return new Command('verify')
    .summary('check a card or card image: file system, every file, the apkovl, boot media, definition')
    .description(
      'Examine a card (a device, read uncached) or a card image and say what is fine, what is wrong and what to do: ' +
        'the partition table, the FAT32 file system, every file against the manifest the card was written with, the ' +
        'Alpine release, exactly one apkovl (checked with the lint rules; a later lbu commit is a change, not damage), ' +
        'every boot file against the boot media (given, or the cached release), the definition the apkovl should come ' +
        "from, the package cache of an offline machine (every package the world needs, against the signed indexes), and the machine's first-boot report. Nothing is written.",
    )
    .argument('<card>', 'a device (/dev/sdb, /dev/mmcblk0) or a card image file')
    .option('--machine <definition>', 'check that the apkovl is exactly what this machine definition produces')
    .option('--secrets <file>', "the definition's secrets file (with --machine)")
    .option('--boot-media <file>', 'compare every boot file with these Alpine boot media (default: the cached release)')
    .option('--cache-dir <dir>', 'download cache to find the boot media in (default: the user cache folder)')
    .option(
      '--apk-key <file>',
      "trust this apk signing key (a PEM public key file, NAME.rsa.pub) for the card's cached package indexes; repeatable",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--json', "machine-readable output: progress events, then the report in the contract's envelope")
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl verify kiosk.img\n' +
        '  sudo apkovl verify /dev/sdb --machine kiosk.yml --secrets kiosk.secrets.yml\n' +
        '  apkovl verify kiosk.img --boot-media alpine-rpi-3.22.2-aarch64.tar.gz --json\n\n' +
        'Exit status: 0 for a good card (also one changed on purpose since, by lbu commit or the machine itself), ' +
        '1 for a damaged or faulty card, 2 when the card cannot be examined (usage, a missing file, a bad definition).',
    )
    .action(async (card: string, flags: VerifyFlags) => {
      // Whatever stops the examination is not a verdict on the card: exit 2, never 1.
      context.inputErrorExitCode = EXIT_USAGE;
      if (flags.secrets !== undefined && flags.machine === undefined) {
        throw new AppError('usage', '--secrets belongs to --machine', {
          location: '--secrets',
          hint: 'apkovl verify card.img --machine machine.yml --secrets secrets.yml',
        });
      }
      const request = await requestFromFlags(card, flags);
      const output = context.output(flags.json === true);
      const report = await context.services.verifyCard(request, {
        onProgress: (event) => output.progress(event),
        signal: context.signal,
      });
      output.settle();
      context.respond('card.verify', report);
      if (flags.json !== true) context.stdout.write(describeVerifyReport(report));
      context.exitCode = report.verdict === 'good' || report.verdict === 'changed' ? 0 : 1;
    });
}

async function requestFromFlags(card: string, flags: VerifyFlags): Promise<VerifyRequest> {
  // Loaded only now: the schema library stays out of a command's start.
  const { verifyRequestSchema } = await import('../../../shared/model/requests.js');
  const parsed = verifyRequestSchema.safeParse({
    medium: await mediumOf(card),
    ...(flags.machine !== undefined
      ? { machine: { file: flags.machine, ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}) } }
      : {}),
    ...(flags.bootMedia !== undefined ? { bootMedia: flags.bootMedia } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.apkKey !== undefined ? { apkKeys: flags.apkKey } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('usage', issue?.message ?? 'invalid options', { location: issue?.path.join('.') ?? '' });
  }
  return parsed.data;
}
