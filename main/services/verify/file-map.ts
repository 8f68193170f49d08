import type { ClusterRun } from './fat-findings.js';
import type { FatLayout } from './fat-layout.js';

/** A file or folder as the checker found it. */
export interface FatFileRecord {
  /** Absolute path on the volume: "/boot/vmlinuz-rpi"; the root folder is "/". */
  path: string;
  isDirectory: boolean;
  /** Bytes, as the directory entry says (0 for folders). */
  size: number;
  firstCluster: number;
  /** Last write, Unix seconds; null for the root folder, which has no entry. */
  mtime: number | null;
  /** The clusters it holds, in chain order (a damaged chain: the part before the damage). */
  runs: ClusterRun[];
  /** Byte of its directory entry on the medium; null for the root folder. */
  entryOffset: number | null;
}

export interface FileLocation {
  file: FatFileRecord;
  /** Offset of the byte within the file's chain (its data, then the slack of its last cluster). */
  offsetInFile: number;
  /** The byte is past the file's size: slack at the end of the last cluster, or a chain too long. */
  pastEnd: boolean;
}

interface IndexedRun {
  first: number;
  count: number;
  file: FatFileRecord;
  /** Position of the run's first cluster in the file's chain. */
  chainIndex: number;
}

const indexes = new WeakMap<readonly FatFileRecord[], IndexedRun[]>();

function indexOf(files: readonly FatFileRecord[]): IndexedRun[] {
  let index = indexes.get(files);
  if (index === undefined) {
    index = [];
    for (const file of files) {
      let chainIndex = 0;
      for (const run of file.runs) {
        index.push({ first: run.first, count: run.count, file, chainIndex });
        chainIndex += run.count;
      }
    }
    index.sort((left, right) => left.first - right.first);
    indexes.set(files, index);
  }
  return index;
}

/** Which file or folder holds `cluster`, and where in its chain; null for a cluster no chain holds. */
export function fileAtCluster(
  files: readonly FatFileRecord[],
  cluster: number,
): { file: FatFileRecord; chainIndex: number } | null {
  const index = indexOf(files);
  let low = 0;
  let high = index.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const run = index[middle] as IndexedRun;
    if (run.first + run.count <= cluster) low = middle + 1;
    else high = middle;
  }
  const run = index[low];
  if (run === undefined || cluster < run.first) return null;
  return { file: run.file, chainIndex: run.chainIndex + (cluster - run.first) };
}

/**
 * Which file or folder a byte of the medium belongs to: the way to turn "byte 4 194 400 of the
 * card differs" into a file name. Null outside the cluster area (boot sectors, FATs) and for
 * clusters no chain holds (free or lost).
 */
export function fileAtOffset(
  report: { layout: FatLayout | null; files: readonly FatFileRecord[] },
  offset: number,
): FileLocation | null {
  const layout = report.layout;
  if (layout === null || offset < layout.dataOffset) return null;
  const cluster = 2 + Math.floor((offset - layout.dataOffset) / layout.clusterSize);
  if (cluster >= layout.clusterCount + 2) return null;
  const found = fileAtCluster(report.files, cluster);
  if (found === null) return null;
  const offsetInFile = found.chainIndex * layout.clusterSize + ((offset - layout.dataOffset) % layout.clusterSize);
  return { file: found.file, offsetInFile, pastEnd: !found.file.isDirectory && offsetInFile >= found.file.size };
}
