import type { WalkedChain } from './fat-chain-walk.js';
import {
  finding,
  groupDigits,
  showBytes,
  showClusters,
  countOf,
  showPath,
  showRuns,
  type ClusterRun,
  type FatFinding,
} from './fat-findings.js';
import { clusterBytes, fatEntryBytes, type FatLayout } from './fat-layout.js';
import { fileAtCluster, type FatFileRecord } from './file-map.js';

/** A chain that ran into a cluster an earlier chain holds; named once every chain is known. */
export interface Crossing {
  record: FatFileRecord;
  cluster: number;
  /** Where in this chain the shared cluster would have been. */
  chainIndex: number;
}

const REWRITE = 'write the card again (apkovl build), or restore the file from the boot media';

export function clustersNeeded(layout: FatLayout, size: number): number {
  return Math.ceil(size / layout.clusterSize);
}

/** The part of `runs` from chain position `index` on. */
export function runsFrom(runs: readonly ClusterRun[], index: number): ClusterRun[] {
  const tail: ClusterRun[] = [];
  let position = 0;
  for (const run of runs) {
    const skip = Math.max(0, index - position);
    if (skip < run.count) tail.push({ first: run.first + skip, count: run.count - skip });
    position += run.count;
  }
  return tail;
}

function readable(layout: FatLayout, record: FatFileRecord, clusters: number): string {
  if (record.isDirectory) return `the folder's entries from cluster ${clusters + 1} of its chain on are lost`;
  const bytes = Math.min(record.size, clusters * layout.clusterSize);
  return bytes >= record.size
    ? `all ${groupDigits(record.size)} bytes of the file come before it and read correctly`
    : `only the first ${groupDigits(bytes)} of its ${groupDigits(record.size)} bytes can be read`;
}

/** The finding for a chain that did not end with an end-of-chain mark (cross-links aside). */
export function chainEndFinding(layout: FatLayout, record: FatFileRecord, walked: WalkedChain): FatFinding | null {
  const path = showPath(record.path);
  const paths = [record.path];
  const last = layout.clusterCount + 1;
  const end = walked.end;
  const cut = readable(layout, record, walked.clusters);
  switch (end.kind) {
    case 'end':
    case 'cross':
      return null;
    case 'out-of-range': {
      if (end.from === null) {
        const entry = record.entryOffset ?? layout.partitionOffset;
        return finding(
          'damage',
          'chain-out-of-range',
          `${path} names cluster ${end.value} as its first, but the data area holds clusters 2-${last}`,
          `its directory entry is damaged: ${REWRITE}`,
          { paths, ranges: [{ start: entry, end: entry + 32 }] },
        );
      }
      return finding(
        'damage',
        'chain-out-of-range',
        `the chain of ${path} breaks after ${countOf(walked.clusters, 'cluster')}: the FAT entry of cluster ${end.from} points to cluster ${end.value}, outside the data area (2-${last}); ${cut}`,
        REWRITE,
        {
          paths,
          ranges: [fatEntryBytes(layout, layout.activeFat, end.from)],
          clusters: [{ first: end.from, count: 1 }],
        },
      );
    }
    case 'free':
    case 'bad': {
      const range = clusterBytes(layout, end.cluster);
      const mark = end.kind === 'free' ? 'free' : 'bad (unusable)';
      return finding(
        'damage',
        end.kind === 'free' ? 'chain-free-cluster' : 'chain-bad-cluster',
        `the chain of ${path} reaches cluster ${end.cluster} (${showBytes(range, layout.partitionOffset)}), which the FAT marks ${mark}: the chain ends there and ${cut}` +
          (end.kind === 'free' ? '; the next file written may take that cluster' : ''),
        REWRITE,
        { paths, ranges: [range], clusters: [{ first: end.cluster, count: 1 }] },
      );
    }
    case 'reserved':
      return finding(
        'damage',
        'chain-reserved-value',
        `the FAT entry of cluster ${end.from} in the chain of ${path} holds the reserved value 0x${end.value.toString(16).toUpperCase()} instead of a cluster number or an end mark; ${cut}`,
        REWRITE,
        {
          paths,
          ranges: [fatEntryBytes(layout, layout.activeFat, end.from)],
          clusters: [{ first: end.from, count: 1 }],
        },
      );
    case 'loop':
      return finding(
        'damage',
        'chain-loop',
        `the chain of ${path} loops: the FAT entry of cluster ${end.from} points back to cluster ${end.cluster}, earlier in the same chain; ${cut}`,
        `a driver that deletes or extends the file never finishes; ${REWRITE}`,
        {
          paths,
          ranges: [fatEntryBytes(layout, layout.activeFat, end.from)],
          clusters: [{ first: end.from, count: 1 }],
        },
      );
  }
}

function placeIn(layout: FatLayout, record: FatFileRecord, chainIndex: number): 'data' | 'past' {
  if (record.isDirectory) return 'data';
  return chainIndex < clustersNeeded(layout, record.size) ? 'data' : 'past';
}

/**
 * One finding per cross-link, naming both files, and the chain-too-long warnings for the files
 * whose extra clusters are not explained by a cross-link.
 */
export function crossLinkFindings(
  layout: FatLayout,
  files: readonly FatFileRecord[],
  crossings: readonly Crossing[],
  tooLong: readonly FatFileRecord[],
): FatFinding[] {
  const findings: FatFinding[] = [];
  const explained = new Set<FatFileRecord>();
  for (const crossing of crossings) {
    const owner = fileAtCluster(files, crossing.cluster);
    const range = clusterBytes(layout, crossing.cluster);
    const second = crossing.record;
    const first = owner?.file;
    const names = first === undefined ? [second.path] : [first.path, second.path];
    let detail = '';
    if (first !== undefined && owner !== null) {
      const firstPlace = placeIn(layout, first, owner.chainIndex);
      const secondPlace = placeIn(layout, second, crossing.chainIndex);
      if (firstPlace === 'past') explained.add(first);
      if (secondPlace === 'past') explained.add(second);
      if (firstPlace === 'past' && secondPlace === 'data') {
        detail = `: the chain of ${showPath(first.path)} runs on past its end into the clusters of ${showPath(second.path)}`;
      } else if (firstPlace === 'data' && secondPlace === 'past') {
        detail = `: the chain of ${showPath(second.path)} runs on past its end into the clusters of ${showPath(first.path)}`;
      } else if (firstPlace === 'data') {
        detail = ': both files keep data there, so at least one of them reads wrongly';
      }
    }
    findings.push(
      finding(
        'damage',
        'cross-link',
        `${showClusters({ first: crossing.cluster, count: 1 })} (${showBytes(range, layout.partitionOffset)}) belongs to both ${names.map(showPath).join(' and ')}${detail}; from there on the two chains are one`,
        'deleting or changing either file would damage the other, and a repair (fsck.fat, Windows) cuts one of the chains: write the card again (apkovl build)',
        { paths: names, ranges: [range], clusters: [{ first: crossing.cluster, count: 1 }] },
      ),
    );
  }
  for (const record of tooLong) {
    if (explained.has(record)) continue;
    const needed = clustersNeeded(layout, record.size);
    const tail = runsFrom(record.runs, needed);
    const extra = tail.reduce((sum, run) => sum + run.count, 0);
    findings.push(
      finding(
        'warning',
        'chain-too-long',
        `the chain of ${showPath(record.path)} holds ${countOf(needed + extra, 'cluster')}, ${groupDigits(extra)} more than its ${groupDigits(record.size)} bytes need (${showRuns(tail)}): ${groupDigits(extra * layout.clusterSize)} bytes are wasted, the file itself reads as its size says`,
        'fsck.fat -a frees the extra clusters; if the file should be larger, it was cut: compare it with the boot media',
        { paths: [record.path], ranges: tail.map((run) => clusterBytes(layout, run.first, run.count)), clusters: tail },
      ),
    );
  }
  return findings;
}
