import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { assertLongName, foldName } from './fat-names.js';
import type { Extent } from './fat-table.js';

export interface FileNode {
  kind: 'file';
  name: string;
  path: string;
  mtime: number;
  size: number;
  /** 0 for an empty file. */
  firstCluster: number;
  extent: Extent | null;
}

export interface DirectoryNode {
  kind: 'directory';
  name: string;
  path: string;
  mtime: number;
  parent: DirectoryNode | null;
  children: Map<string, TreeNode>;
  firstCluster: number;
  extents: Extent[];
}

export type TreeNode = FileNode | DirectoryNode;

/**
 * The directory tree of the volume being built. Enforces FAT's naming rules as entries arrive:
 * every component must be a storable long name, and two names in a directory may not differ
 * only in case.
 */
export class FatTree {
  readonly root: DirectoryNode;

  constructor(defaultMtime: number) {
    this.root = this.newDirectory('', '', defaultMtime, null);
  }

  private newDirectory(name: string, path: string, mtime: number, parent: DirectoryNode | null): DirectoryNode {
    return { kind: 'directory', name, path, mtime, parent, children: new Map(), firstCluster: 0, extents: [] };
  }

  static split(path: string): string[] {
    const parts = path.split('/').filter((part) => part.length > 0);
    if (parts.length === 0 || path.startsWith('/') || parts.some((part) => part === '..' || part === '.')) {
      throw new AppError('internal', `"${displayText(path)}" is not a relative media path`);
    }
    return parts;
  }

  /** The directory at `path`, creating missing ones (stamped with `mtime`, the time of the member that needs them). */
  directory(path: string, mtime: number): DirectoryNode {
    let current = this.root;
    if (path === '') return current;
    let currentPath = '';
    for (const part of FatTree.split(path)) {
      currentPath = currentPath === '' ? part : `${currentPath}/${part}`;
      assertLongName(part, currentPath);
      const existing = this.childOf(current, part, currentPath);
      if (existing === undefined) {
        const created = this.newDirectory(part, currentPath, mtime, current);
        current.children.set(foldName(part), created);
        current = created;
      } else if (existing.kind === 'directory') {
        current = existing;
      } else {
        throw new AppError('invalid-media', `"${displayText(currentPath)}" is a file but is also used as a folder`, {
          location: displayText(currentPath),
        });
      }
    }
    return current;
  }

  /** Set a directory's own timestamp (a tar directory member). */
  touchDirectory(path: string, mtime: number): void {
    this.directory(path, mtime).mtime = mtime;
  }

  /**
   * The parent directory and name for a new file at `path`, and the file already there, if
   * any (a later member with the same path replaces an earlier one, as tar extraction does).
   */
  placeFile(path: string, mtime: number): { parent: DirectoryNode; name: string; previous: FileNode | null } {
    const parts = FatTree.split(path);
    const name = parts.pop() as string;
    const parent = this.directory(parts.join('/'), mtime);
    assertLongName(name, path);
    const existing = this.childOf(parent, name, path);
    if (existing?.kind === 'directory') {
      throw new AppError('invalid-media', `"${displayText(path)}" is a folder but is also used as a file`, {
        location: displayText(path),
      });
    }
    return { parent, name, previous: existing ?? null };
  }

  addFile(parent: DirectoryNode, node: FileNode): void {
    const key = foldName(node.name);
    parent.children.delete(key); // keep arrival order: a replaced file moves to the end
    parent.children.set(key, node);
  }

  /** Look a path up as FAT does (case-insensitively). */
  find(path: string): TreeNode | undefined {
    let current: TreeNode = this.root;
    for (const part of FatTree.split(path)) {
      if (current.kind !== 'directory') return undefined;
      const next: TreeNode | undefined = current.children.get(foldName(part));
      if (next === undefined) return undefined;
      current = next;
    }
    return current;
  }

  /** Every directory, parents before children. */
  directories(): DirectoryNode[] {
    const all: DirectoryNode[] = [];
    const queue: DirectoryNode[] = [this.root];
    for (let index = 0; index < queue.length; index += 1) {
      const directory = queue[index] as DirectoryNode;
      all.push(directory);
      for (const child of directory.children.values()) if (child.kind === 'directory') queue.push(child);
    }
    return all;
  }

  private childOf(directory: DirectoryNode, name: string, path: string): TreeNode | undefined {
    const existing = directory.children.get(foldName(name));
    if (existing !== undefined && existing.name !== name) {
      throw new AppError(
        'invalid-media',
        `"${displayText(path)}" and "${displayText(existing.path)}" differ only in upper/lower case; FAT treats them as the same name`,
        { location: displayText(path), hint: 'rename one of them in the source' },
      );
    }
    return existing;
  }
}
