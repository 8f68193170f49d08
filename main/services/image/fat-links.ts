import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import type { FatTree, FileNode, TreeNode } from './fat-tree.js';

/** What a link member said: FAT has no links, so the builder stores a copy of what it names. */
export interface LinkRecord {
  path: string;
  /** The media path it points to. */
  target: string;
  /**
   * For a hard link, the node its target was when the link arrived (tar links to the file as it
   * is then, so a later member replacing the target does not change the link). Null for a
   * symbolic link, and for a hard link whose target had not arrived yet: then the path counts.
   */
  bound: TreeNode | null;
}

/** Linux follows at most 40 symbolic links in one lookup. */
const MAX_LINK_DEPTH = 40;

/**
 * The link members of the media. Each link is a file node in the tree from the moment it
 * arrives (so that a later member of the same path replaces it like any file) that gets its
 * data, a copy of the file it resolves to, once every member has been read.
 */
export class PendingLinks {
  /** Every link node ever placed, replaced ones included: a hard link may still name one. */
  private readonly records = new Map<FileNode, LinkRecord>();
  /** Link nodes still in the tree without data, in arrival order. */
  private readonly waiting = new Set<FileNode>();

  add(node: FileNode, record: LinkRecord): void {
    this.records.set(node, record);
    this.waiting.add(node);
  }

  /**
   * `node` left the tree (a later member replaced it). True when it was a link still waiting
   * for its data: it holds no clusters, and it is no longer copied.
   */
  drop(node: FileNode): boolean {
    return this.waiting.delete(node);
  }

  /** The links still waiting for their data, in arrival order. */
  nodes(): FileNode[] {
    return [...this.waiting];
  }

  /** The link has its data now. */
  settle(node: FileNode): void {
    this.waiting.delete(node);
  }

  /**
   * The file whose data the link `node` gets: always a file the media carried (never another
   * link's copy, which may still be on its way to the target).
   */
  resolve(node: FileNode, tree: FatTree): FileNode {
    const link = this.records.get(node);
    if (link === undefined) throw new AppError('internal', `"${node.path}" is not a link`);
    let record = link;
    for (let depth = 0; depth < MAX_LINK_DEPTH; depth += 1) {
      const found = record.bound ?? tree.find(record.target);
      if (found === undefined) {
        throw new AppError(
          'invalid-media',
          `the link "${displayText(link.path)}" points to "${displayText(link.target)}", which is not in the media`,
          {
            location: displayText(link.path),
            hint: 'FAT has no links: the card gets a copy of the file a link names; repack the media',
          },
        );
      }
      if (found.kind === 'directory') {
        throw new AppError(
          'invalid-media',
          `the link "${displayText(link.path)}" points to the folder "${displayText(record.target)}"; FAT cannot hold links to folders`,
          {
            location: displayText(link.path),
            hint: 'FAT has no links: the card gets a copy of the file a link names; repack the media',
          },
        );
      }
      const next = this.records.get(found);
      if (next === undefined) return found;
      record = next;
    }
    throw new AppError('invalid-media', `the link "${displayText(link.path)}" is part of a loop of links`, {
      location: displayText(link.path),
    });
  }
}
