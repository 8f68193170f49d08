import { displayText } from '../../../shared/rules/display.js';

/**
 * What the FAT checker reports. Findings are data, never exceptions: a card can have many, and
 * each says what is wrong, where, and what to do.
 *
 * - `damage`: a file or folder reads wrongly or not at all, or the next write or repair can
 *   destroy data (cross-links, free clusters inside a chain).
 * - `warning`: the file system's bookkeeping is inconsistent, but every file still reads as its
 *   entry says (lost clusters, a stale FSInfo, a chain longer than its file, FAT copies that
 *   differ while the first one checks out). `fsck.fat -n` reports most of these too.
 * - `info`: worth knowing, nothing to repair.
 */
export type FatSeverity = 'damage' | 'warning' | 'info';

export const fatFindingCodes = [
  // The volume as a whole.
  'partition-exceeds-medium',
  'boot-sector-invalid',
  'volume-exceeds-partition',
  'volume-smaller-than-partition',
  'backup-boot-sector-missing',
  'backup-boot-sector-differs',
  'fsinfo-invalid',
  'fsinfo-free-count',
  'fsinfo-next-free',
  'volume-dirty',
  'fat-copies-differ',
  'bad-clusters',
  // Cluster chains.
  'chain-out-of-range',
  'chain-free-cluster',
  'chain-bad-cluster',
  'chain-reserved-value',
  'chain-loop',
  'cross-link',
  'lost-clusters',
  // Files and folders.
  'file-truncated',
  'chain-too-long',
  'directory-size',
  'dot-entries',
  'long-name-mismatch',
  'long-name-orphan',
  'short-name-invalid',
  'duplicate-name',
  'directory-too-large',
] as const;

export type FatFindingCode = (typeof fatFindingCodes)[number];

/** Bytes `start` .. `end - 1` of the medium (the device or image, not the partition). */
export interface ByteRange {
  start: number;
  end: number;
}

/** `count` consecutive clusters from `first`. */
export interface ClusterRun {
  first: number;
  count: number;
}

export interface FatFinding {
  severity: FatSeverity;
  code: FatFindingCode;
  /** One or two sentences for a person; names from the card are escaped. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** Files and folders concerned, as absolute paths on the volume ("/boot/vmlinuz-rpi"; "/" is the root). */
  paths: string[];
  /** Where on the medium. */
  ranges: ByteRange[];
  /** The clusters concerned. */
  clusters: ClusterRun[];
}

export function finding(
  severity: FatSeverity,
  code: FatFindingCode,
  message: string,
  hint: string,
  where: { paths?: string[]; ranges?: ByteRange[]; clusters?: ClusterRun[] } = {},
): FatFinding {
  return {
    severity,
    code,
    message,
    hint,
    paths: where.paths ?? [],
    ranges: where.ranges ?? [],
    clusters: where.clusters ?? [],
  };
}

/** 4194304 -> "4 194 304": long numbers a person can read. */
export function groupDigits(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** "1 cluster", "4 096 clusters". */
export function countOf(count: number, noun: string): string {
  return `${groupDigits(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** A path from the card inside a message: escaped, as it must never drive a terminal. */
export function showPath(path: string): string {
  return displayText(path);
}

/** "cluster 12" or "clusters 12-15". */
export function showClusters(run: ClusterRun): string {
  return run.count === 1 ? `cluster ${run.first}` : `clusters ${run.first}-${run.first + run.count - 1}`;
}

/** "bytes 4 194 304-4 198 399 of the partition" for a medium range of a partition at `partitionOffset`. */
export function showBytes(range: ByteRange, partitionOffset: number): string {
  return `bytes ${groupDigits(range.start - partitionOffset)}-${groupDigits(range.end - 1 - partitionOffset)} of the partition`;
}

/** "a, b and c" */
export function showList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** At most `limit` of `total` runs in a message: "clusters 10-12, cluster 40 and 3 more runs". */
export function showRuns(runs: readonly ClusterRun[], total = runs.length, limit = 5): string {
  const shown = runs.slice(0, limit).map(showClusters);
  if (total > shown.length) shown.push(`${countOf(total - shown.length, 'more run')}`);
  return showList(shown);
}
