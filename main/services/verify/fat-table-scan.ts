import type { ReadableMedium } from '../image/fat-reader.js';
import { FAT_BAD_CLUSTER, FAT_ENTRY_MASK } from '../image/fat-table.js';
import { ClusterBitmap } from './cluster-bitmap.js';
import { entriesOf, readAt } from './medium-bytes.js';
import type { ClusterRun } from './fat-findings.js';
import type { FatLayout } from './fat-layout.js';

/** What one pass over the FAT (and its copies) found. */
export interface FatTableScan {
  /** Clusters whose first-FAT entry is not free and not marked bad. */
  allocated: ClusterBitmap;
  freeClusters: number;
  badClusters: number;
  /** FAT[1]: the clean-shutdown and no-error bits Windows keeps. */
  cleanBit: boolean;
  errorFreeBit: boolean;
  /**
   * Per other copy (FAT 2, ...; none when mirroring is off): the runs of clusters whose entry
   * differs from the active FAT's.
   */
  differences: { copy: number; runs: ClusterRun[]; runCount: number; entries: number }[];
}

const BLOCK_ENTRIES = 256 * 1024;
const ZEROS = Buffer.alloc(BLOCK_ENTRIES * 4);

function isZero(bytes: Buffer, from: number): boolean {
  return bytes.subarray(from).equals(ZEROS.subarray(0, bytes.length - from));
}
const MAX_RUNS = 1000;

/**
 * Read the active FAT once, 1 MiB at a time (with the same block of each copy beside it): count free
 * and bad clusters, note every allocated cluster in a bitmap (one bit per cluster), and compare
 * the copies entry by entry.
 */
export async function scanFatTable(medium: ReadableMedium, layout: FatLayout): Promise<FatTableScan> {
  const end = layout.clusterCount + 2;
  const allocated = new ClusterBitmap(end);
  let freeClusters = 0;
  let badClusters = 0;
  let fatOne = FAT_ENTRY_MASK;
  const copies = layout.mirrored ? Array.from({ length: layout.fatCount - 1 }, (_, index) => index + 1) : [];
  const differences = copies.map((copy) => ({
    copy,
    runs: [] as ClusterRun[],
    runCount: 0,
    entries: 0,
    last: -2,
  }));
  for (let first = 0; first < end; first += BLOCK_ENTRIES) {
    const count = Math.min(BLOCK_ENTRIES, end - first);
    const active = layout.fatOffset + layout.activeFat * layout.fatBytes;
    const mainBytes = await readAt(medium, active + first * 4, count * 4);
    const main = entriesOf(mainBytes);
    if (first === 0) fatOne = main[1] ?? 0;
    const from = Math.max(0, 2 - first);
    if (mainBytes.length === count * 4 && isZero(mainBytes, from * 4)) {
      freeClusters += count - from; // a free stretch, as most of a new card's FAT is
    } else {
      for (let index = from; index < count; index += 1) {
        const value = (main[index] ?? 0) & FAT_ENTRY_MASK;
        if (value === 0) freeClusters += 1;
        else if (value === FAT_BAD_CLUSTER) badClusters += 1;
        else allocated.add(first + index);
      }
    }
    for (const difference of differences) {
      const position = layout.fatOffset + difference.copy * layout.fatBytes + first * 4;
      const copy = await readAt(medium, position, count * 4);
      if (copy.equals(mainBytes)) continue;
      const other = entriesOf(copy);
      for (let index = from; index < count; index += 1) {
        if ((((main[index] ?? 0) ^ (other[index] ?? 0)) & FAT_ENTRY_MASK) === 0) continue;
        const cluster = first + index;
        difference.entries += 1;
        if (cluster === difference.last + 1) {
          const run = difference.runs[difference.runs.length - 1];
          if (run !== undefined && run.first + run.count === cluster) run.count += 1;
        } else {
          difference.runCount += 1;
          if (difference.runs.length < MAX_RUNS) difference.runs.push({ first: cluster, count: 1 });
        }
        difference.last = cluster;
      }
    }
  }
  return {
    allocated,
    freeClusters,
    badClusters,
    cleanBit: (fatOne & 0x0800_0000) !== 0,
    errorFreeBit: (fatOne & 0x0400_0000) !== 0,
    differences: differences.map(({ copy, runs, runCount, entries }) => ({ copy, runs, runCount, entries })),
  };
}
