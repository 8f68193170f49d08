/**
 * Content the definition takes from outside: `files[].source` and `files[].tree` (a folder or a
 * .zip), read by the definition loader and handed to the pure generator.
 */
export type TreeItem =
  | { type: 'file'; path: string; mode: number; content: Buffer }
  | { type: 'directory'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export interface ResolvedSources {
  /** Content of `files[index].source`. */
  files: Map<number, Buffer>;
  /** Items of `files[index].tree`, paths relative to / of the machine. */
  trees: Map<number, TreeItem[]>;
}

export const noSources = (): ResolvedSources => ({ files: new Map(), trees: new Map() });
