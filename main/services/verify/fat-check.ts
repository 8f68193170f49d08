import type { ReadableMedium } from '../image/fat-reader.js';
import type { MbrPartition } from '../image/mbr.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { FatEntries } from './fat-entries.js';
import { countOf, finding, groupDigits, showRuns, type FatFinding, type FatSeverity } from './fat-findings.js';
import { checkHeader } from './fat-header-check.js';
import { clusterBytes, fatEntryBytes, type FatLayout } from './fat-layout.js';
import { scanFatTable, type FatTableScan } from './fat-table-scan.js';
import { checkTree } from './fat-tree-check.js';
import type { FatFileRecord } from './file-map.js';

export { fileAtOffset, fileAtCluster, type FatFileRecord, type FileLocation } from './file-map.js';
export { fatFindingCodes } from './fat-findings.js';
export type { FatFinding, FatFindingCode, FatSeverity, ByteRange, ClusterRun } from './fat-findings.js';
export type { FatLayout } from './fat-layout.js';

export interface FatVolumeSummary {
  label: string;
  volumeId: number;
  /** Clusters the FAT marks free, counted (not FSInfo's figure). */
  freeClusters: number;
  /** Clusters some file or folder holds. */
  usedClusters: number;
  badClusters: number;
}

export interface FatCheckReport {
  /** True when some finding is `damage`. */
  damaged: boolean;
  /** Damage first, then warnings, then notes; in the order found within each. */
  findings: FatFinding[];
  /** Every file and folder reached from the root, the root first, parents before children. */
  files: FatFileRecord[];
  /** Where things are on the medium; null when the boot sector is unusable. */
  layout: FatLayout | null;
  volume: FatVolumeSummary | null;
}

const ORDER: Record<FatSeverity, number> = { damage: 0, warning: 1, info: 2 };
const MAX_LISTED_RUNS = 1000;

/**
 * Check the FAT32 file system of one partition the way `fsck.fat -n` does, without changing
 * anything, and say what is wrong in terms a person can act on: boot sector and backup, FSInfo,
 * FAT copies, every chain from the root (bounds, loops, free or bad clusters inside, lengths
 * against sizes), cross-links and lost clusters, `.`/`..`, long names and duplicate names.
 *
 * Memory stays bounded: the FAT is read in blocks (never whole), clusters are tracked in two
 * bitmaps of one bit each. Problems of the file system are findings; only a medium that cannot
 * be read at all makes this throw.
 */
export async function checkFat32(
  medium: ReadableMedium,
  partition: Pick<MbrPartition, 'start' | 'sectors'>,
): Promise<FatCheckReport> {
  const findings: FatFinding[] = [];
  const offset = partition.start * SECTOR_SIZE;
  const header = await checkHeader(medium, offset, partition.sectors * SECTOR_SIZE, findings);
  if (header === null) return report(findings, [], null, null);
  const { layout } = header;
  const scan = await scanFatTable(medium, layout);
  const tree = await checkTree(medium, layout, new FatEntries(medium, layout));
  findings.push(...tree.findings);
  const treeIntact = !tree.findings.some((each) => each.severity === 'damage');
  findings.push(...tableFindings(layout, scan, treeIntact));

  const lost = scan.allocated.difference(tree.claimed, 2, MAX_LISTED_RUNS);
  if (lost.clusters > 0) {
    findings.push(
      finding(
        'warning',
        'lost-clusters',
        `${countOf(lost.clusters, 'cluster')} (${groupDigits(lost.clusters * layout.clusterSize)} bytes) ${lost.clusters === 1 ? 'is' : 'are'} marked in use in the FAT but ${lost.clusters === 1 ? 'belongs' : 'belong'} to no file or folder: ${showRuns(lost.runs, lost.runCount)}`,
        'no file is affected, the space is only wasted; fsck.fat -a frees it. If a file is missing from the card, its data may be there',
        { ranges: lost.runs.map((run) => clusterBytes(layout, run.first, run.count)), clusters: lost.runs },
      ),
    );
  }
  const fsInfo = header.fsInfo;
  if (fsInfo !== null && fsInfo.freeClusters !== 0xffffffff && fsInfo.freeClusters !== scan.freeClusters) {
    findings.push(
      finding(
        'warning',
        'fsinfo-free-count',
        `the FSInfo sector says ${groupDigits(fsInfo.freeClusters)} free clusters; the FAT has ${groupDigits(scan.freeClusters)} free`,
        'only the free space shown is wrong; systems correct it in time, fsck.fat -a at once',
      ),
    );
  }
  const next = fsInfo?.nextFreeCluster ?? 0xffffffff;
  if (next !== 0xffffffff && (next < 2 || next >= layout.clusterCount + 2)) {
    findings.push(
      finding(
        'warning',
        'fsinfo-next-free',
        `the FSInfo sector's hint for the next free cluster (${next}) is outside the data area (2-${layout.clusterCount + 1})`,
        'systems ignore a wrong hint and search from the start; fsck.fat -a resets it',
      ),
    );
  }
  if (header.dirty || !scan.cleanBit || !scan.errorFreeBit) {
    const reasons = [
      ...(header.dirty || !scan.cleanBit ? ['was not cleanly unmounted (removed without ejecting?)'] : []),
      ...(scan.errorFreeBit ? [] : ['met disk errors the last time it was in use']),
    ];
    findings.push(
      finding(
        'warning',
        'volume-dirty',
        `the volume ${reasons.join(' and ')}`,
        'the findings above say whether anything was damaged; eject the card before removing it',
      ),
    );
  }
  return report(findings, tree.files, layout, {
    label: header.label,
    volumeId: header.volumeId,
    freeClusters: scan.freeClusters,
    usedClusters: countUsed(tree.files),
    badClusters: scan.badClusters,
  });
}

function countUsed(files: readonly FatFileRecord[]): number {
  return files.reduce((sum, file) => sum + file.runs.reduce((runs, run) => runs + run.count, 0), 0);
}

function tableFindings(layout: FatLayout, scan: FatTableScan, treeIntact: boolean): FatFinding[] {
  const findings: FatFinding[] = [];
  for (const difference of scan.differences) {
    if (difference.entries === 0) continue;
    const active = layout.activeFat + 1;
    findings.push(
      finding(
        'warning',
        'fat-copies-differ',
        `FAT ${difference.copy + 1} differs from FAT ${active} in the entries of ${countOf(difference.entries, 'cluster')}: ${showRuns(difference.runs, difference.runCount)}` +
          (treeIntact ? `; FAT ${active}, which systems read, agrees with the folders` : ''),
        `write the card again (apkovl build); fsck.fat -a copies FAT ${active} over the other`,
        {
          ranges: difference.runs.map((run) => fatEntryBytes(layout, difference.copy, run.first, run.count)),
          clusters: difference.runs,
        },
      ),
    );
  }
  if (scan.badClusters > 0) {
    findings.push(
      finding(
        'info',
        'bad-clusters',
        `${countOf(scan.badClusters, 'cluster')} (${groupDigits(scan.badClusters * layout.clusterSize)} bytes) ${scan.badClusters === 1 ? 'is' : 'are'} marked bad and not used`,
        'a card with bad clusters is wearing out: consider replacing it',
      ),
    );
  }
  return findings;
}

function report(
  findings: FatFinding[],
  files: FatFileRecord[],
  layout: FatLayout | null,
  volume: FatVolumeSummary | null,
): FatCheckReport {
  const sorted = findings
    .map((each, index) => ({ each, index }))
    .sort((left, right) => ORDER[left.each.severity] - ORDER[right.each.severity] || left.index - right.index)
    .map(({ each }) => each);
  return { damaged: sorted.some((each) => each.severity === 'damage'), findings: sorted, files, layout, volume };
}
