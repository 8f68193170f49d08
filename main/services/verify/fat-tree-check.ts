import { foldName, readShortName } from '../image/fat-names.js';
import type { ReadableMedium } from '../image/fat-reader.js';
import { DIRECTORY_ENTRY_SIZE, MAX_DIRECTORY_ENTRIES } from '../image/fat-directory.js';
import { ClusterBitmap } from './cluster-bitmap.js';
import { chainEndFinding, clustersNeeded, crossLinkFindings, type Crossing } from './fat-chain-findings.js';
import { walkChain } from './fat-chain-walk.js';
import { parseDirectory, type DirectoryProblem, type DirectoryRecord } from './fat-directory-parse.js';
import type { FatEntries } from './fat-entries.js';
import { countOf, finding, groupDigits, showPath, type FatFinding } from './fat-findings.js';
import { clusterBytes, type FatLayout } from './fat-layout.js';
import type { FatFileRecord } from './file-map.js';
import { readAt } from './medium-bytes.js';

export interface TreeCheck {
  files: FatFileRecord[];
  /** Every cluster some chain holds. */
  claimed: ClusterBitmap;
  findings: FatFinding[];
}

const MAX_DIRECTORY_BYTES = MAX_DIRECTORY_ENTRIES * DIRECTORY_ENTRY_SIZE;
const REWRITE = 'write the card again (apkovl build)';

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function entryRange(record: { entryOffset: number }): { start: number; end: number } {
  return { start: record.entryOffset, end: record.entryOffset + DIRECTORY_ENTRY_SIZE };
}

/**
 * Walk the tree from the root folder: every folder's entries and every chain, each cluster
 * claimed once (a second claim is a loop or a cross-link), sizes against chain lengths, `.`
 * and `..`, long names and duplicate names. Folders are read whole (at most 2 MiB each); FAT
 * entries come through the bounded cache of `entries`.
 */
export async function checkTree(medium: ReadableMedium, layout: FatLayout, entries: FatEntries): Promise<TreeCheck> {
  const claimed = new ClusterBitmap(layout.clusterCount + 2);
  const files: FatFileRecord[] = [];
  const findings: FatFinding[] = [];
  const crossings: Crossing[] = [];
  const tooLong: FatFileRecord[] = [];

  const follow = async (record: FatFileRecord): Promise<void> => {
    const walked = await walkChain(entries, layout, claimed, record.firstCluster);
    record.runs = walked.runs;
    if (walked.end.kind === 'cross') {
      crossings.push({ record, cluster: walked.end.cluster, chainIndex: walked.clusters });
      return;
    }
    const problem = chainEndFinding(layout, record, walked);
    if (problem !== null) findings.push(problem);
    if (walked.end.kind !== 'end' || record.isDirectory) return;
    const needed = clustersNeeded(layout, record.size);
    if (walked.clusters > needed) tooLong.push(record);
    if (walked.clusters < needed) {
      const held = walked.clusters * layout.clusterSize;
      findings.push(
        finding(
          'damage',
          'file-truncated',
          `${showPath(record.path)} is ${groupDigits(record.size)} bytes but its chain holds only ${countOf(walked.clusters, 'cluster')} (${groupDigits(held)} bytes): the last ${groupDigits(record.size - held)} bytes are missing`,
          `${REWRITE}, or restore the file from the boot media`,
          { paths: [record.path], ranges: [entryRange({ entryOffset: record.entryOffset ?? 0 })] },
        ),
      );
    }
  };

  const root: FatFileRecord = {
    path: '/',
    isDirectory: true,
    size: 0,
    firstCluster: layout.rootCluster,
    mtime: null,
    runs: [],
    entryOffset: null,
  };
  files.push(root);
  await follow(root);
  const queue: { folder: FatFileRecord; parentCluster: number }[] = [{ folder: root, parentCluster: 0 }];
  for (let index = 0; index < queue.length; index += 1) {
    const { folder, parentCluster } = queue[index]!;
    const records = await readFolder(medium, layout, folder, parentCluster, findings);
    for (const entry of records) {
      const record: FatFileRecord = {
        path: childPath(folder.path, entry.name),
        isDirectory: entry.isDirectory,
        size: entry.isDirectory ? 0 : entry.size,
        firstCluster: entry.firstCluster,
        mtime: entry.mtime,
        runs: [],
        entryOffset: entry.entryOffset,
      };
      files.push(record);
      if (entry.isDirectory && entry.size !== 0) {
        findings.push(
          finding(
            'warning',
            'directory-size',
            `the folder ${showPath(record.path)} has the size ${groupDigits(entry.size)} in its entry; folders have size 0`,
            'drivers ignore it; fsck.fat -a sets it to 0',
            { paths: [record.path], ranges: [entryRange(entry)] },
          ),
        );
      }
      if (entry.firstCluster === 0) {
        if (entry.isDirectory || entry.size > 0) {
          const what = entry.isDirectory ? 'the folder' : `the ${groupDigits(entry.size)}-byte file`;
          findings.push(
            finding(
              'damage',
              entry.isDirectory ? 'chain-out-of-range' : 'file-truncated',
              `${what} ${showPath(record.path)} has no clusters (its first cluster is 0): its content is missing`,
              REWRITE,
              { paths: [record.path], ranges: [entryRange(entry)] },
            ),
          );
        }
        continue;
      }
      await follow(record);
      if (entry.isDirectory && record.runs.length > 0)
        queue.push({ folder: record, parentCluster: folder.firstCluster });
    }
  }
  findings.push(...crossLinkFindings(layout, files, crossings, tooLong));
  return { files, claimed, findings };
}

/** Read one folder's entries and report what is wrong inside it; returns its files and folders. */
async function readFolder(
  medium: ReadableMedium,
  layout: FatLayout,
  folder: FatFileRecord,
  parentCluster: number,
  findings: FatFinding[],
): Promise<DirectoryRecord[]> {
  const pieces: Buffer[] = [];
  const starts: { index: number; offset: number }[] = [];
  let bytes = 0;
  for (const run of folder.runs) {
    if (bytes >= MAX_DIRECTORY_BYTES) break;
    const range = clusterBytes(layout, run.first, run.count);
    const length = Math.min(range.end - range.start, MAX_DIRECTORY_BYTES - bytes);
    starts.push({ index: bytes, offset: range.start });
    pieces.push(await readAt(medium, range.start, length));
    bytes += length;
  }
  const held = folder.runs.reduce((sum, run) => sum + run.count, 0) * layout.clusterSize;
  if (held > MAX_DIRECTORY_BYTES) {
    findings.push(
      finding(
        'warning',
        'directory-too-large',
        `the folder ${showPath(folder.path)} holds ${groupDigits(held)} bytes of entries; FAT allows ${groupDigits(MAX_DIRECTORY_BYTES)}, and only those were checked`,
        REWRITE,
        { paths: [folder.path] },
      ),
    );
  }
  const offsetOf = (index: number): number => {
    let start = starts[0] ?? { index: 0, offset: 0 };
    for (const candidate of starts) if (candidate.index <= index) start = candidate;
    return start.offset + (index - start.index);
  };
  const parsed = parseDirectory(Buffer.concat(pieces), offsetOf);
  if (folder.path !== '/') checkDotEntries(layout, folder, parentCluster, parsed.dot, parsed.dotDot, findings);
  for (const problem of parsed.problems) findings.push(directoryProblem(folder, problem));
  findings.push(...duplicateNames(folder, parsed.records));
  return parsed.records;
}

function checkDotEntries(
  layout: FatLayout,
  folder: FatFileRecord,
  parentCluster: number,
  dot: DirectoryRecord | null,
  dotDot: DirectoryRecord | null,
  findings: FatFinding[],
): void {
  const problems: string[] = [];
  if (dot === null) problems.push('its first entry is not "."');
  else if (dot.firstCluster !== folder.firstCluster) {
    problems.push(`"." points to cluster ${dot.firstCluster}, not to the folder's own cluster ${folder.firstCluster}`);
  }
  // ".." of a folder in the root holds 0; some systems write the root's cluster, which works too.
  const parentValues = parentCluster === layout.rootCluster ? [0, layout.rootCluster] : [parentCluster];
  if (dotDot === null) problems.push('its second entry is not ".."');
  else if (!parentValues.includes(dotDot.firstCluster)) {
    problems.push(`".." points to cluster ${dotDot.firstCluster}, not to the parent folder's (${parentValues[0]})`);
  }
  if (problems.length === 0) return;
  findings.push(
    finding(
      'warning',
      'dot-entries',
      `the folder ${showPath(folder.path)}: ${problems.join('; ')}`,
      'its files still read; "cd .." and renames of the folder may misbehave; fsck.fat -a repairs it',
      { paths: [folder.path], ranges: folder.runs.slice(0, 1).map((run) => clusterBytes(layout, run.first)) },
    ),
  );
}

function directoryProblem(folder: FatFileRecord, problem: DirectoryProblem): FatFinding {
  switch (problem.kind) {
    case 'long-name-mismatch': {
      const path = childPath(folder.path, problem.record.name);
      return finding(
        'damage',
        'long-name-mismatch',
        `in ${showPath(folder.path)}, the long name "${showPath(problem.longName)}" does not belong to the entry after it (checksum or order wrong): that file shows as ${showPath(path)} and cannot be found under its long name`,
        `a boot loader looking for the long name will not find the file; ${REWRITE}`,
        { paths: [path], ranges: [{ start: problem.offset, end: problem.record.entryOffset + DIRECTORY_ENTRY_SIZE }] },
      );
    }
    case 'long-name-orphan':
      return finding(
        'warning',
        'long-name-orphan',
        `in ${showPath(folder.path)}, ${problem.count === 1 ? 'a long-name entry belongs' : `${problem.count} long-name entries belong`} to no file`,
        'no file is affected; fsck.fat -a removes them',
        {
          paths: [folder.path],
          ranges: [{ start: problem.offset, end: problem.offset + problem.count * DIRECTORY_ENTRY_SIZE }],
        },
      );
    case 'short-name-invalid': {
      const path = childPath(folder.path, problem.record.name);
      return finding(
        'warning',
        'short-name-invalid',
        `the short name of ${showPath(path)} ("${showPath(problem.record.shortKey)}") holds characters FAT does not allow`,
        'some systems cannot open or delete it; fsck.fat -a renames it',
        { paths: [path], ranges: [entryRange(problem.record)] },
      );
    }
  }
}

/** The short name as stored ("CMDLINE.TXT"), without the lower-case flags. */
function storedShortName(record: DirectoryRecord): string {
  return readShortName(Buffer.from(record.shortKey, 'latin1'), 0);
}

function duplicateNames(folder: FatFileRecord, records: readonly DirectoryRecord[]): FatFinding[] {
  const findings: FatFinding[] = [];
  const byName = new Map<string, DirectoryRecord>();
  const byShortName = new Map<string, DirectoryRecord>();
  for (const record of records) {
    const earlier = byName.get(foldName(record.name)) ?? byShortName.get(record.shortKey);
    if (earlier === undefined) {
      byName.set(foldName(record.name), record);
      byShortName.set(record.shortKey, record);
      continue;
    }
    const paths = [childPath(folder.path, earlier.name), childPath(folder.path, record.name)];
    const same =
      earlier.shortKey === record.shortKey ? `the short name ${showPath(storedShortName(record))}` : 'a name';
    const names =
      paths[0] === paths[1]
        ? `two entries are named ${showPath(paths[0] ?? '')}`
        : `${showPath(paths[0] ?? '')} and ${showPath(paths[1] ?? '')} share ${same}`;
    findings.push(
      finding(
        'damage',
        'duplicate-name',
        `${names} (FAT compares names without case): only the first can be opened by name`,
        REWRITE,
        { paths: [...new Set(paths)], ranges: [entryRange(earlier), entryRange(record)] },
      ),
    );
  }
  return findings;
}
