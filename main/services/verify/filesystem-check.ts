import type { CardFacts, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { formatVolumeId } from '../build/write-card.js';
import { AppError } from '../../../shared/errors.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { decodeBootSector } from '../image/fat32-boot-sector.js';
import { Fat32Volume } from '../image/fat-reader.js';
import type { MbrPartition } from '../image/mbr.js';
import { displayText } from '../../../shared/rules/display.js';
import { CardReader, type CardFile } from './card-reader.js';
import { count, makeCheck, problem } from './checks.js';
import { checkFat32, type FatCheckReport, type FatFileRecord, type FatFinding } from './fat-check.js';
import type { VerifyMedium } from './medium.js';

export interface FilesystemResult {
  check: VerifyCheck;
  /** The card's files, or null when the volume cannot be read at all. */
  reader: CardReader | null;
  volume: CardFacts['volume'];
  freeBytes: number | null;
}

const TITLE = 'FAT32 file system';

/** "/boot/vmlinuz-rpi" as the checker names it -> "boot/vmlinuz-rpi" as the rest of the report does. */
function cardPath(path: string): string {
  return path === '/' ? '/' : path.replace(/^\/+/, '');
}

function toProblem(found: FatFinding): VerifyProblem {
  return problem(found.severity === 'damage' ? 'damage' : 'warning', found.message, {
    paths: found.paths.map(cardPath),
    ranges: found.ranges,
    hint: found.hint,
  });
}

/** A file or folder as the checker walked it. */
function toCardFile(record: FatFileRecord): CardFile {
  return {
    path: cardPath(record.path),
    isDirectory: record.isDirectory,
    size: record.size,
    firstCluster: record.firstCluster,
    mtime: record.mtime ?? 0,
    runs: record.runs,
    unreadable: null,
  };
}

/**
 * The checker keeps each cluster for the first chain that reaches it, so the chain of a file
 * walked after a cross-link stops where the clusters were taken, though its data is all there.
 * Such files (and any whose chain falls short of their size) are followed again, alone, with the
 * project's reader, which stops at a loop, a free or bad cluster, or a number out of range.
 */
async function completeChains(medium: VerifyMedium, partition: MbrPartition, files: CardFile[], clusterSize: number) {
  const short = files.filter(
    (file) => !file.isDirectory && file.runs.reduce((sum, run) => sum + run.count, 0) * clusterSize < file.size,
  );
  if (short.length === 0) return;
  let volume: Fat32Volume | null = null;
  try {
    volume = await Fat32Volume.open(medium, partition.start * SECTOR_SIZE, partition.sectors * SECTOR_SIZE);
  } catch {
    // The checker has said what is wrong with the volume; these files stay unreadable.
  }
  for (const file of short) {
    const needed = Math.ceil(file.size / clusterSize);
    try {
      if (volume === null) throw new Error('the volume cannot be opened');
      const runs = [];
      let left = needed;
      for (const run of await volume.chain(file.firstCluster, volume.clusterCount, `"${displayText(file.path)}"`)) {
        if (left === 0) break;
        runs.push({ first: run.cluster, count: Math.min(run.count, left) });
        left -= Math.min(run.count, left);
      }
      file.runs = runs;
      if (left > 0)
        file.unreadable = `its cluster chain holds only ${(needed - left) * clusterSize} of its ${file.size} bytes`;
    } catch (error) {
      file.unreadable = `its cluster chain is broken: ${(error as Error).message}`;
    }
  }
}

/**
 * A FAT12 or FAT16 volume is no damage (Alpine's own alpine-rpi .img.gz is FAT16), but nothing
 * on it can be checked here: that is said as an error, not as a verdict on the card.
 */
async function refuseOlderFat(medium: VerifyMedium, partition: MbrPartition): Promise<void> {
  const sector = Buffer.alloc(SECTOR_SIZE);
  const offset = partition.start * SECTOR_SIZE;
  if ((await medium.read(sector, offset).catch(() => 0)) < SECTOR_SIZE) return;
  const boot = decodeBootSector(sector);
  // FAT32 has neither a fixed root folder nor a 16-bit FAT size; FAT12 and FAT16 have both.
  const older = boot.signature && boot.rootEntries !== 0 && boot.sectorsPerFat16 !== 0;
  if (!older) return;
  throw new AppError(
    'invalid-media',
    'the partition holds a FAT12 or FAT16 file system; apkovl verify examines FAT32 volumes, as apkovl build writes them',
    {
      location: `${medium.description}, byte ${offset}`,
      hint: "this is not a card written by apkovl build (Alpine's own alpine-rpi .img.gz is FAT16): write one with apkovl build to check it",
    },
  );
}

/**
 * The FAT32 file system of the card's partition, checked the way `fsck.fat -n` does (boot
 * sector and backup, FSInfo, FAT copies, every chain, cross-links, lost clusters, names), and
 * its files with the clusters that hold them.
 */
export async function checkFilesystem(
  medium: VerifyMedium,
  partition: MbrPartition,
  signal?: AbortSignal,
): Promise<FilesystemResult> {
  await refuseOlderFat(medium, partition);
  let report: FatCheckReport;
  try {
    report = await checkFat32(medium, partition);
  } catch (error) {
    return {
      check: makeCheck('filesystem', TITLE, {
        summary: 'the file system cannot be read',
        problems: [problem('damage', (error as Error).message, { hint: 'try another card reader, then another card' })],
      }),
      reader: null,
      volume: null,
      freeBytes: null,
    };
  }
  const problems = report.findings.filter((found) => found.severity !== 'info').map(toProblem);
  const details = report.findings.filter((found) => found.severity === 'info').map((found) => found.message);
  const { layout, volume } = report;
  if (layout === null || volume === null) {
    return {
      check: makeCheck('filesystem', TITLE, { summary: 'no readable FAT32 volume', details, problems }),
      reader: null,
      volume: null,
      freeBytes: null,
    };
  }
  const files = report.files.filter((record) => record.path !== '/').map(toCardFile);
  await completeChains(medium, partition, files, layout.clusterSize);
  const folders = files.filter((file) => file.isDirectory).length;
  const damaged = problems.filter((each) => each.severity === 'damage').length;
  const geometry = { dataOffset: layout.dataOffset, clusterSize: layout.clusterSize };
  return {
    check: makeCheck('filesystem', TITLE, {
      summary: `${count(files.length - folders, 'file')} in ${count(folders, 'folder')}, ${layout.clusterCount} clusters of ${layout.clusterSize} bytes${damaged > 0 ? `; ${count(damaged, 'problem')} with what files hold` : ', consistent'}`,
      details,
      problems,
    }),
    reader: new CardReader(medium, geometry, files, signal),
    volume: {
      label: volume.label === '' || volume.label === 'NO NAME' ? null : volume.label,
      serial: formatVolumeId(volume.volumeId),
      clusterSize: layout.clusterSize,
      clusters: layout.clusterCount,
    },
    freeBytes: volume.freeClusters * layout.clusterSize,
  };
}
