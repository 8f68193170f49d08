import { FAT_BAD_CLUSTER } from '../image/fat-table.js';
import type { ClusterBitmap } from './cluster-bitmap.js';
import type { FatEntries } from './fat-entries.js';
import type { ClusterRun } from './fat-findings.js';
import { isDataCluster, type FatLayout } from './fat-layout.js';

const END_OF_CHAIN_MIN = 0x0fff_fff8;
const RESERVED_MIN = 0x0fff_fff0;

/**
 * How a chain ended. `from` is the cluster whose FAT entry led there (null: the first cluster,
 * named by the directory entry).
 */
export type ChainEnd =
  | { kind: 'end' }
  /** The entry of `from` names a cluster number outside the data area (`value`). */
  | { kind: 'out-of-range'; from: number | null; value: number }
  /** `cluster` is in the chain but the FAT marks it free (it is not counted in the chain). */
  | { kind: 'free'; from: number | null; cluster: number }
  /** `cluster` is in the chain but the FAT marks it bad (it is not counted in the chain). */
  | { kind: 'bad'; from: number | null; cluster: number }
  /** The entry of `from` holds a reserved value (0x0FFFFFF0-0x0FFFFFF6). */
  | { kind: 'reserved'; from: number; value: number }
  /** The entry of `from` points back to `cluster`, earlier in the same chain. */
  | { kind: 'loop'; from: number; cluster: number }
  /** The chain runs into `cluster`, which an earlier chain holds. */
  | { kind: 'cross'; from: number | null; cluster: number };

export interface WalkedChain {
  /** The clusters this chain holds (claimed), in chain order, as runs. */
  runs: ClusterRun[];
  clusters: number;
  end: ChainEnd;
}

function inRuns(runs: readonly ClusterRun[], cluster: number): boolean {
  return runs.some((run) => cluster >= run.first && cluster < run.first + run.count);
}

/**
 * Follow the chain from `first`, marking each cluster in `claimed`. Stops at the end-of-chain
 * mark or at the first problem; a cluster already claimed is a loop (this chain) or a
 * cross-link (another one), so every walk ends and no cluster is counted twice.
 */
export async function walkChain(
  entries: FatEntries,
  layout: FatLayout,
  claimed: ClusterBitmap,
  first: number,
): Promise<WalkedChain> {
  const runs: ClusterRun[] = [];
  let clusters = 0;
  let from: number | null = null;
  let cluster = first;
  const done = (end: ChainEnd): WalkedChain => ({ runs, clusters, end });
  for (;;) {
    if (!isDataCluster(layout, cluster)) return done({ kind: 'out-of-range', from, value: cluster });
    if (claimed.has(cluster)) {
      return done(
        from !== null && inRuns(runs, cluster) ? { kind: 'loop', from, cluster } : { kind: 'cross', from, cluster },
      );
    }
    const next = entries.cached(cluster) ?? (await entries.entry(cluster));
    if (next === 0) return done({ kind: 'free', from, cluster });
    if (next === FAT_BAD_CLUSTER) return done({ kind: 'bad', from, cluster });
    claimed.add(cluster);
    clusters += 1;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.first + last.count === cluster) last.count += 1;
    else runs.push({ first: cluster, count: 1 });
    if (next >= END_OF_CHAIN_MIN) return done({ kind: 'end' });
    if (next >= RESERVED_MIN) return done({ kind: 'reserved', from: cluster, value: next });
    from = cluster;
    cluster = next;
  }
}
