import { Command, Option } from 'commander';
import { AppError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/model/size.js';
import { architectures, boards, x86Flavors } from '../../../shared/model/targets.js';
import { displayText } from '../../../shared/rules/display.js';
import { describeSigner, signersOf } from '../../services/releases/fingerprint.js';
import type { CommandContext } from '../context.js';
import { collect } from '../flags.js';

interface FetchFlags {
  board: (typeof boards)[number];
  arch: string;
  flavor?: string;
  branch?: string;
  version?: string;
  mirror?: string[];
  trustedKey?: string;
  cacheDir?: string;
  offline?: boolean;
  json?: boolean;
}

export function releasesCommand(context: CommandContext): Command {
  return new Command('releases')
    .summary("list Alpine's current releases of a branch and architecture")
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl releases --arch aarch64\n  apkovl releases --arch x86_64 --branch v3.22',
    )
    .addOption(new Option('--arch <arch>', 'architecture').choices(architectures).default('aarch64'))
    .option('--branch <branch>', 'latest-stable, edge or vX.Y', 'latest-stable')
    .option('--mirror <url>', 'Alpine mirror', 'https://dl-cdn.alpinelinux.org/alpine')
    .option('--json', 'print the releases as JSON')
    .action(async (flags: { arch: string; branch: string; mirror: string; json?: boolean }) => {
      const output = context.output(flags.json === true);
      const { url, releases } = await context.services.listReleases({
        arch: flags.arch,
        branch: flags.branch,
        mirror: flags.mirror,
        signal: context.signal,
        onNote: (text) => output.note(text),
      });
      if (flags.json) {
        context.respond('release.list', { url, releases });
        return;
      }
      context.stdout.write(`${url}\n`);
      for (const release of releases) {
        context.stdout.write(
          `  ${release.flavor.padEnd(20)} ${release.version.padEnd(10)} ${formatBytes(release.size).padStart(9)}  ${release.date ?? ''}  ${release.file}\n`,
        );
      }
    });
}

export function fetchCommand(context: CommandContext): Command {
  return new Command('fetch')
    .summary("download boot media, verify size, SHA-256 and Alpine's signature, and cache them")
    .description(
      'Download the boot media of a target into the cache (resuming after dropped connections, retrying, ' +
        'falling back to other mirrors), check the size and SHA-256 of the release index and the OpenPGP ' +
        "signature of Alpine's release key (0482 D840 22F5 2DF1 C4E7 CD43 293A CD09 07D9 495A), and print the path.",
    )
    .addOption(
      new Option('--board <board>', 'rpi, x86_64 or x86_64-uefi (both x86 boards use the ISO)')
        .choices(boards)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--arch <arch>', 'architecture').choices(architectures).makeOptionMandatory())
    .addOption(new Option('--flavor <flavor>', 'x86 ISO flavor').choices(x86Flavors).default('standard'))
    .option('--branch <branch>', 'latest-stable, edge or vX.Y (default latest-stable)')
    .option('--version <version>', 'an exact release, e.g. 3.22.2')
    .option('--mirror <url>', 'Alpine mirror; repeat to name fallbacks', collect)
    .option(
      '--trusted-key <file>',
      "an OpenPGP public key to trust instead of Alpine's (private mirrors); what it verified is used later only with it",
    )
    .option('--cache-dir <dir>', 'download cache (default: the user cache folder, or APKOVL_CACHE_DIR)')
    .option('--offline', 'use only what is in the cache')
    .option('--json', 'JSON lines: progress events, then the result')
    .addHelpText('after', '\nExample:\n  apkovl fetch --board rpi --arch aarch64 --version 3.22.2')
    .action(async (flags: FetchFlags) => {
      if (flags.branch !== undefined && flags.version !== undefined) {
        throw new AppError('usage', 'give --branch or --version, not both', {
          location: '--version',
          hint: 'a version names its branch: --version 3.22.2 is on v3.22',
        });
      }
      const output = context.output(flags.json === true);
      const fetched = await context.services.fetchRelease({
        board: flags.board,
        arch: flags.arch,
        ...(flags.board !== 'rpi' && flags.flavor !== undefined ? { flavor: flags.flavor } : {}),
        ...(flags.branch !== undefined ? { branch: flags.branch } : {}),
        ...(flags.version !== undefined ? { version: flags.version } : {}),
        ...(flags.mirror !== undefined ? { mirrors: flags.mirror } : {}),
        ...(flags.trustedKey !== undefined ? { trustedKeyFile: flags.trustedKey } : {}),
        ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
        ...(flags.offline ? { offline: true } : {}),
        signal: context.signal,
        onProgress: (event) => output.progress(event),
        onNote: (text) => output.note(text),
      });
      output.settle();
      context.respond('release.fetch', fetched);
      if (flags.json !== true) context.stdout.write(`${fetched.path}\n`);
    });
}

export function cacheCommand(context: CommandContext): Command {
  const cache = new Command('cache')
    .summary('list or prune the download cache')
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl cache ls\n  apkovl cache prune --older-than 90\n  apkovl cache prune --all --cache-dir /var/cache/apkovl',
    );
  cache
    .command('ls')
    .description('list the verified files in the cache')
    .option('--cache-dir <dir>', 'download cache')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  apkovl cache ls --json')
    .action(async (flags: { cacheDir?: string; json?: boolean }) => {
      const entries = await context.services.listCache(flags.cacheDir);
      if (flags.json) {
        context.respond('cache.list', { directory: context.services.cacheDirectory(flags.cacheDir), entries });
        return;
      }
      context.stdout.write(`${context.services.cacheDirectory(flags.cacheDir)}\n`);
      for (const entry of entries) {
        const signers = signersOf(entry).map(describeSigner).join(', ');
        context.stdout.write(
          `  ${entry.fileName.padEnd(40)} ${formatBytes(entry.size).padStart(9)}  used ${entry.usedAt.slice(0, 10)}  sha256 ${entry.sha256.slice(0, 12)}  signed by ${signers}\n`,
        );
      }
      if (entries.length === 0) context.stdout.write('  (empty)\n');
    });
  cache
    .command('prune')
    .description('remove cached files not used for some days (or all), and leftover partial downloads')
    .option('--cache-dir <dir>', 'download cache')
    .option('--older-than <days>', 'remove files not used for this many days', '30')
    .option('--all', 'remove every cached file')
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl cache prune                   (files unused for 30 days)\n  apkovl cache prune --all',
    )
    .action(async (flags: { cacheDir?: string; olderThan: string; all?: boolean }) => {
      const days = Number(flags.olderThan);
      if (!Number.isFinite(days) || days < 0)
        throw new AppError('usage', `"${displayText(flags.olderThan)}" is not a number of days`, {
          location: '--older-than',
        });
      const removed = await context.services.pruneCache({
        ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
        ...(flags.all ? { all: true } : { olderThanDays: days }),
      });
      context.stdout.write(
        `Removed ${removed.length} file(s)${removed.length > 0 ? `: ${removed.map((entry) => entry.fileName).join(', ')}` : ''}\n`,
      );
    });
  return cache;
}
