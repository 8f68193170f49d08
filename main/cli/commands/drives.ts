import { Command } from 'commander';
import type { ClassifiedDrive } from '../../../shared/model/drive.js';
import { formatBytes } from '../../../shared/model/size.js';
import { driveText } from '../../../shared/rules/drive-safety.js';
import type { CommandContext } from '../context.js';

const HEADINGS = ['DEVICE', 'SIZE', 'MODEL', 'BUS', 'STATUS', 'REASON'] as const;

/** One row per drive, then one line per further reason under the REASON column. */
export function renderDriveTable(drives: ClassifiedDrive[]): string {
  const rows = drives.map((drive) => {
    const reasons = drive.reasons.map(({ effect, message }) => (effect === 'note' ? `note: ${message}` : message));
    return {
      cells: [
        driveText(drive.device),
        formatBytes(drive.size),
        driveText(drive.description, 28) || '-',
        driveText(drive.bus, 10),
        drive.status,
        reasons[0] ?? '',
      ],
      more: reasons.slice(1),
    };
  });
  const widths = HEADINGS.map((heading, column) =>
    Math.max(heading.length, ...rows.map(({ cells }) => cells[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const indent = widths.slice(0, -1).reduce((sum, width) => sum + width + 2, 0);
  return [
    line(HEADINGS),
    ...rows.flatMap(({ cells, more }) => [line(cells), ...more.map((reason) => `${' '.repeat(indent)}${reason}`)]),
  ]
    .map((text) => `${text}\n`)
    .join('');
}

export function drivesCommand(context: CommandContext): Command {
  return new Command('drives')
    .summary('list the drives a card can be written to, each with its status and the reasons')
    .description(
      'List the drives with their status: ok, warning (larger than 128 GB: needs an extra confirmation), ' +
        'refused (read-only, too small, no medium, holds the download cache, in use by LVM/LUKS/RAID) or ' +
        'hidden (holds the running system or swap, an internal fixed disk, a RAM disk), with every reason. ' +
        'Hidden drives are shown with --all; --json always lists every drive, hidden ones with status "hidden". ' +
        'Loop devices attached to a file are listed with --loop, and can always be named explicitly as a target (/dev/loopN).',
    )
    .option('--all', 'also show hidden (system) drives')
    .option('--loop', 'also list loop devices attached to a file (losetup -f --show card.img)')
    .option('--cache-dir <dir>', 'download cache (a drive holding it is refused)')
    .option('--json', 'print the drives as one JSON line')
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl drives\n  apkovl drives --all\n  apkovl drives --json | jq -r \'.drives[] | select(.status == "ok") | .device\'',
    )
    .action(async (flags: { all?: boolean; loop?: boolean; cacheDir?: string; json?: boolean }) => {
      const drives = await context.services.listDrives(
        { cache: context.services.cacheDirectory(flags.cacheDir) },
        { loopDevices: flags.loop === true },
      );
      if (flags.json) {
        context.stdout.write(`${JSON.stringify({ type: 'result', command: 'drives', drives })}\n`);
        return;
      }
      const shown = flags.all ? drives : drives.filter(({ status }) => status !== 'hidden');
      const hidden = drives.length - shown.length;
      if (shown.length > 0) context.stdout.write(renderDriveTable(shown));
      else context.stdout.write(hidden > 0 ? 'No drive to write to.\n' : 'No drives found.\n');
      if (hidden > 0)
        context.stdout.write(
          `${hidden} hidden drive${hidden === 1 ? '' : 's'} (the system's, RAM disks): apkovl drives --all shows ${hidden === 1 ? 'it' : 'them'}\n`,
        );
    });
}
