import { AppError } from '../../../shared/errors.js';
import {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  ATTR_VOLUME_ID,
  DIRECTORY_ENTRY_SIZE,
  MAX_DIRECTORY_ENTRIES,
  encodeLongEntries,
  encodeShortEntry,
  entryCount,
} from './fat-directory.js';
import {
  generateShortName,
  isPlainShortName,
  shortNameBytes,
  shortNameKey,
  splitShortName,
  type ShortName,
} from './fat-names.js';
import type { DirectoryNode, TreeNode } from './fat-tree.js';
import { encodeVolumeLabel } from './fat32-boot-sector.js';

interface Planned {
  node: TreeNode;
  shortName: ShortName;
  /** Null when the short name alone holds the name exactly. */
  longName: string | null;
}

/** The entries of one directory, with short names chosen; sized before clusters are assigned. */
export class DirectoryPlan {
  readonly entries: Planned[] = [];
  readonly entryTotal: number;

  constructor(
    readonly directory: DirectoryNode,
    private readonly volumeLabel: string | null,
  ) {
    const taken = new Set<string>();
    const children = [...directory.children.values()];
    // Names that are already plain 8.3 keep their name; generated ones avoid them.
    for (const child of children) {
      if (isPlainShortName(child.name)) {
        const { base, extension } = splitShortName(child.name);
        taken.add(shortNameKey(base, extension));
      }
    }
    for (const child of children) {
      if (isPlainShortName(child.name)) {
        const { base, extension } = splitShortName(child.name);
        const bytes = shortNameBytes(base, extension);
        this.entries.push({ node: child, shortName: { base, extension, bytes, caseFlags: 0 }, longName: null });
      } else {
        const shortName = generateShortName(child.name, taken);
        taken.add(shortNameKey(shortName.base, shortName.extension));
        this.entries.push({ node: child, shortName, longName: child.name });
      }
    }
    const fixed = directory.parent === null ? (volumeLabel === null ? 0 : 1) : 2;
    this.entryTotal = fixed + this.entries.reduce((sum, entry) => sum + entryCount(entry.longName), 0);
    if (this.entryTotal > MAX_DIRECTORY_ENTRIES) {
      throw new AppError(
        'invalid-media',
        `the folder "${directory.path || '/'}" needs ${this.entryTotal} directory entries; FAT allows ${MAX_DIRECTORY_ENTRIES}`,
        { location: directory.path || '/', hint: 'split it into several folders' },
      );
    }
  }

  bytes(): number {
    // One extra entry for the end marker is not needed: a full cluster ends the directory.
    return this.entryTotal * DIRECTORY_ENTRY_SIZE;
  }

  /** Encode into `into` (zero-filled, a whole number of clusters); clusters must be assigned. */
  encode(into: Buffer): void {
    const directory = this.directory;
    let at = 0;
    if (directory.parent === null) {
      if (this.volumeLabel !== null) {
        encodeShortEntry(
          {
            name: encodeVolumeLabel(this.volumeLabel),
            attributes: ATTR_VOLUME_ID,
            caseFlags: 0,
            firstCluster: 0,
            size: 0,
            mtime: directory.mtime,
          },
          into,
          at,
        );
        at += DIRECTORY_ENTRY_SIZE;
      }
    } else {
      encodeShortEntry(
        {
          name: Buffer.from('.          ', 'latin1'),
          attributes: ATTR_DIRECTORY,
          caseFlags: 0,
          firstCluster: directory.firstCluster,
          size: 0,
          mtime: directory.mtime,
        },
        into,
        at,
      );
      at += DIRECTORY_ENTRY_SIZE;
      const parent = directory.parent;
      encodeShortEntry(
        {
          name: Buffer.from('..         ', 'latin1'),
          attributes: ATTR_DIRECTORY,
          caseFlags: 0,
          // The specification: ".." of a folder in the root points to cluster 0.
          firstCluster: parent.parent === null ? 0 : parent.firstCluster,
          size: 0,
          mtime: parent.mtime,
        },
        into,
        at,
      );
      at += DIRECTORY_ENTRY_SIZE;
    }
    for (const entry of this.entries) {
      if (entry.longName !== null) at = encodeLongEntries(entry.longName, entry.shortName, into, at);
      const node = entry.node;
      encodeShortEntry(
        {
          name: entry.shortName.bytes,
          attributes: node.kind === 'directory' ? ATTR_DIRECTORY : ATTR_ARCHIVE,
          caseFlags: entry.shortName.caseFlags,
          firstCluster: node.firstCluster,
          size: node.kind === 'file' ? node.size : 0,
          mtime: node.mtime,
        },
        into,
        at,
      );
      at += DIRECTORY_ENTRY_SIZE;
    }
  }
}
