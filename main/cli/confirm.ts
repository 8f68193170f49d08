import { createInterface } from 'node:readline/promises';
import { AppError } from '../../shared/errors.js';
import type { ClassifiedDrive } from '../../shared/model/drive.js';
import { formatBytes } from '../../shared/model/size.js';
import { driveText, driveTitle, LARGE_DRIVE_BYTES } from '../../shared/rules/drive-safety.js';
import type { CommandContext } from './context.js';

/** What writing a card will erase, for a person: the drive and every partition on it now. */
export function describeErasure(drive: ClassifiedDrive): string[] {
  const lines = [`This erases everything on ${driveTitle(drive)}:`];
  if (drive.partitions.length === 0) lines.push('  (no partitions found)');
  for (const partition of drive.partitions) {
    const label = partition.label === null ? '' : ` "${driveText(partition.label)}"`;
    const filesystem = partition.filesystem === null ? 'unknown file system' : driveText(partition.filesystem, 16);
    const mounted =
      partition.mountpoints.length > 0
        ? `, mounted at ${partition.mountpoints.map((mount) => driveText(mount)).join(', ')} (it will be unmounted)`
        : '';
    lines.push(`  ${driveText(partition.device)}${label}: ${filesystem}, ${formatBytes(partition.size)}${mounted}`);
  }
  for (const reason of drive.reasons) lines.push(`  note: ${reason.message}`);
  return lines;
}

/** The name a person types to confirm: `sdb` for `/dev/sdb`. */
export function confirmationWord(device: string): string {
  return device.replace(/^\/dev\//, '');
}

/**
 * Ask on the terminal before a drive is erased: the person types the drive's name (and, for a
 * drive larger than 128 GB, says so again). `--yes` skips the question for scripts; a large
 * drive also needs `--large-drive` then. Without a terminal and without `--yes` nothing is erased.
 */
export async function confirmErasure(
  context: CommandContext,
  drive: ClassifiedDrive,
  flags: { yes?: boolean; largeDrive?: boolean },
  /** What the new card will boot, said with what will be erased. */
  boots?: string,
): Promise<{ largeDriveConfirmed: boolean }> {
  const large = drive.size > LARGE_DRIVE_BYTES;
  if (flags.yes === true) {
    if (large && flags.largeDrive !== true) {
      throw new AppError(
        'usage',
        `${driveText(drive.device)} holds ${formatBytes(drive.size)}, more than 128 GB: it may not be the card you mean`,
        { location: '--large-drive', hint: 'check the drive; if it really is the card, add --large-drive to --yes' },
      );
    }
    return { largeDriveConfirmed: large };
  }
  const stdin = context.stdin as NodeJS.ReadStream;
  if (stdin.isTTY !== true) {
    throw new AppError(
      'usage',
      `writing ${driveText(drive.device)} erases it, and there is no terminal to confirm on`,
      {
        location: '--yes',
        hint: 'run it in a terminal, or add --yes once you are sure of the device',
      },
    );
  }
  for (const line of describeErasure(drive)) context.stderr.write(`${line}\n`);
  if (boots !== undefined) context.stderr.write(`The new card boots ${boots}.\n`);
  const reader = createInterface({ input: stdin, output: context.stderr });
  try {
    const word = confirmationWord(drive.device);
    const answer = (await reader.question(`Type ${word} to erase it and write the card: `)).trim();
    if (answer !== word && answer !== drive.device) {
      throw new AppError(
        'cancelled',
        `not confirmed (typed "${driveText(answer)}", not "${word}"); nothing was written`,
      );
    }
    if (large) {
      const size = formatBytes(drive.size);
      const again = (
        await reader.question(`It holds ${size}, more than any SD card or stick usually does. Type "erase ${size}": `)
      ).trim();
      if (again !== `erase ${size}`) throw new AppError('cancelled', 'not confirmed; nothing was written');
    }
    return { largeDriveConfirmed: large };
  } finally {
    reader.close();
  }
}
