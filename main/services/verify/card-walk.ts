import type { VerifyProblem } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import type { Fat32Volume, FatEntry } from '../image/fat-reader.js';
import type { CardFile, ClusterRun } from './card-reader.js';
import { problem } from './checks.js';

/**
 * Every file and folder of a volume with the clusters of its data, read with the project's FAT
 * reader. A folder that cannot be read is a problem and the walk goes on with the others; a file
 * whose chain is broken is listed as unreadable.
 */
export async function walkVolume(volume: Fat32Volume): Promise<{ files: CardFile[]; problems: VerifyProblem[] }> {
  const files: CardFile[] = [];
  const problems: VerifyProblem[] = [];
  const visit = async (cluster: number, folder: string): Promise<void> => {
    let entries: FatEntry[];
    try {
      entries = await volume.readDirectoryAt(cluster, folder === '' ? '/' : folder);
    } catch (error) {
      problems.push(
        problem('damage', `the folder "${displayText(folder || '/')}" cannot be read: ${(error as Error).message}`, {
          paths: [folder || '/'],
          hint: 'what it holds is lost from view: copy off what you can, then write the card again',
        }),
      );
      return;
    }
    for (const entry of entries) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory) {
        files.push({ path, isDirectory: true, size: 0, mtime: entry.mtime, runs: [], unreadable: null });
        await visit(entry.firstCluster, path);
      } else {
        files.push({
          path,
          isDirectory: false,
          size: entry.size,
          mtime: entry.mtime,
          ...(await fileRuns(volume, entry, path)),
        });
      }
    }
  };
  await visit(volume.bootSector.rootCluster, '');
  return { files, problems };
}

async function fileRuns(
  volume: Fat32Volume,
  entry: FatEntry,
  path: string,
): Promise<{ runs: ClusterRun[]; unreadable: string | null }> {
  if (entry.size === 0) return { runs: [], unreadable: null };
  const needed = Math.ceil(entry.size / volume.clusterSize);
  let chain;
  try {
    chain = await volume.chain(entry.firstCluster, volume.clusterCount, `"${displayText(path)}"`);
  } catch (error) {
    return { runs: [], unreadable: (error as Error).message };
  }
  const runs: ClusterRun[] = [];
  let left = needed;
  for (const run of chain) {
    if (left === 0) break;
    const count = Math.min(run.count, left);
    runs.push({ first: run.cluster, count });
    left -= count;
  }
  const unreadable =
    left > 0
      ? `it is ${entry.size} bytes but its cluster chain holds only ${(needed - left) * volume.clusterSize}`
      : null;
  return { runs, unreadable };
}
