import { formatBytes } from '../../../shared/model/size.js';
import type { CardFacts, VerifyCheck } from '../../../shared/model/verify-report.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { readMbr } from '../image/fat-reader.js';
import type { Mbr, MbrPartition } from '../image/mbr.js';
import { makeCheck, problem } from './checks.js';
import type { VerifyMedium } from './medium.js';

/** MBR partition types of FAT file systems the boot ROMs and firmware read. */
const FAT_TYPES = new Map([
  [0x0c, 'FAT32 (LBA)'],
  [0x0b, 'FAT32 (CHS)'],
  [0x0e, 'FAT16 (LBA)'],
  [0x06, 'FAT16'],
]);

const TITLE = 'Partition table';
const MBR_RANGE = { start: 0, end: SECTOR_SIZE };

function hex(type: number): string {
  return `0x${type.toString(16).padStart(2, '0').toUpperCase()}`;
}

export interface PartitionResult {
  check: VerifyCheck;
  /** The FAT partition to read, or null when there is none that can be. */
  partition: MbrPartition | null;
  facts: CardFacts['partition'];
  /** The partition table as read (null when sector 0 holds none). */
  mbr: Mbr | null;
}

/**
 * The MBR: a FAT partition, first (the Raspberry Pi boot ROM reads only the first). Whether it
 * fits the medium is the file-system check's (it names both ends).
 */
export async function checkPartition(medium: VerifyMedium): Promise<PartitionResult> {
  const fail = (severity: 'damage' | 'fault', message: string, hint: string): PartitionResult => ({
    check: makeCheck('partition', TITLE, {
      summary: 'no usable partition',
      problems: [problem(severity, message, { ranges: [MBR_RANGE], hint })],
    }),
    partition: null,
    facts: null,
    mbr: null,
  });
  let mbr: Mbr | null;
  try {
    mbr = await readMbr(medium);
  } catch (error) {
    return fail('damage', `the partition table cannot be read: ${(error as Error).message}`, 'try another card reader');
  }
  const rewrite = 'write the card again (apkovl build)';
  if (mbr === null) {
    return fail(
      'damage',
      'sector 0 has no partition table (no 55 AA signature): the card is blank or was wiped, or this is not a card',
      rewrite,
    );
  }
  const index = mbr.partitions.findIndex((entry) => FAT_TYPES.has(entry.type));
  const partition = mbr.partitions[index];
  if (partition === undefined) {
    const types = mbr.partitions.map((entry) => hex(entry.type)).join(', ') || 'none';
    return fail('fault', `no FAT partition in the partition table (types: ${types})`, rewrite);
  }
  const startByte = partition.start * SECTOR_SIZE;
  const bytes = partition.sectors * SECTOR_SIZE;
  const facts = { number: index + 1, type: partition.type, startByte, bytes, bootable: partition.bootable };
  const problems = [];
  // A BIOS+UEFI stick: the ISO (type 0x17) is partition 1, the FAT32 partition 2. Such a stick
  // is not for a Raspberry Pi.
  const isoFirst = mbr.partitions[0]?.type === 0x17;
  if (index > 0 && !isoFirst) {
    problems.push(
      problem(
        'fault',
        `the FAT partition is number ${index + 1}: a Raspberry Pi 3 or older boots only from the first`,
        {
          ranges: [MBR_RANGE],
          hint: rewrite,
        },
      ),
    );
  }
  const details = [];
  if (mbr.partitions.length > 1) details.push(`the table has ${mbr.partitions.length} partitions`);
  if (isoFirst) {
    const iso = mbr.partitions[0] as MbrPartition;
    details.push(
      `partition 1: ${formatBytes(iso.sectors * SECTOR_SIZE)} ISO 9660 (type 0x17${iso.bootable ? ', active' : ''}), for BIOS boot`,
    );
  } else if (!partition.bootable) {
    details.push('the partition is not marked bootable (the Pi and UEFI do not need it)');
  }
  return {
    check: makeCheck('partition', TITLE, {
      summary: `MBR, partition ${index + 1}: ${formatBytes(bytes)} ${FAT_TYPES.get(partition.type) ?? ''} (type ${hex(partition.type)}) at ${startByte % (1 << 20) === 0 ? `${startByte >> 20} MiB` : `byte ${startByte}`}`,
      details,
      problems,
    }),
    partition,
    facts,
    mbr,
  };
}
