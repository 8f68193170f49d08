import { Command } from 'commander';
import type { EraseSummary } from '../../../shared/model/erase.js';
import { formatBytes } from '../../../shared/model/size.js';
import { assertDriveWritable } from '../../../shared/rules/drive-safety.js';
import { DEFAULT_ERASE_LABEL } from '../../services/build/erase-defaults.js';
import { confirmErasure } from '../confirm.js';
import type { CommandContext } from '../context.js';
import { requireDeviceAccess } from '../privileges.js';

export function describeErase(summary: EraseSummary): string {
  return [
    `Erased ${summary.device} (${formatBytes(summary.deviceBytes)}, ${formatBytes(summary.bytesWritten)} written, ${summary.seconds.toFixed(1)} s)`,
    `  partition    ${formatBytes(summary.partition.bytes)} FAT32 at 1 MiB (MBR type 0x0C), label ${summary.filesystem.label}, serial ${summary.filesystem.volumeId}`,
    `  free space   ${formatBytes(summary.filesystem.freeBytes)} in ${formatBytes(summary.filesystem.clusterSize)} clusters`,
    `  read back    ${formatBytes(summary.verification.bytes)} in ${summary.verification.ranges} ranges: identical`,
    ...summary.warnings.map((warning) => `  warning      ${warning}`),
  ].join('\n');
}

export function eraseCommand(context: CommandContext): Command {
  return new Command('erase')
    .summary('turn a card or stick back into one empty FAT32 partition over all of it')
    .description(
      'Erase a drive and give it one FAT32 partition covering the whole device (up to the 2 TiB an MBR can ' +
        'address), empty, as a new stick comes. The same rules as writing a card: system drives are refused, ' +
        'the drive is confirmed by typing its name, its partitions are unmounted, and what is written is read back.',
    )
    .argument('<device>', 'the drive, e.g. /dev/sdb')
    .option('--label <label>', `FAT volume label, up to 11 characters (default ${DEFAULT_ERASE_LABEL})`)
    .option('--yes', 'do not ask (for scripts); the drive rules still apply')
    .option('--large-drive', 'with --yes: the drive really is larger than 128 GB')
    .option('--json', 'machine-readable output: JSON lines for progress, then one response')
    .addHelpText('after', '\nExamples:\n  sudo apkovl erase /dev/sdb\n  sudo apkovl erase /dev/sdb --label DATA --yes')
    .action(async (device: string, flags: { label?: string; yes?: boolean; largeDrive?: boolean; json?: boolean }) => {
      await requireDeviceAccess(device);
      const { drive, identity } = await context.services.describeTarget(device);
      assertDriveWritable(drive, { confirmedLarge: true });
      const { largeDriveConfirmed } = await confirmErasure(context, drive, flags);
      const output = context.output(flags.json === true);
      const summary = await context.services.erase(
        {
          device,
          confirmed: identity,
          largeDriveConfirmed,
          ...(flags.label !== undefined ? { label: flags.label } : {}),
        },
        { onProgress: (event) => output.progress(event), onNote: (text) => output.note(text), signal: context.signal },
      );
      output.settle();
      context.respond('card.erase', summary);
      if (flags.json !== true) context.stdout.write(`${describeErase(summary)}\n`);
    });
}
