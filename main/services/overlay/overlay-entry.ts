/** One member of an apkovl, before it is packed. Paths are relative, without trailing slash. */
export type OverlayEntry =
  | { type: 'directory'; path: string; mode: number; uid: number; gid: number }
  | { type: 'file'; path: string; mode: number; uid: number; gid: number; content: Buffer }
  | { type: 'symlink'; path: string; target: string; uid: number; gid: number };

export function file(path: string, content: string | Buffer, mode = 0o644, uid = 0, gid = 0): OverlayEntry {
  return {
    type: 'file',
    path,
    mode,
    uid,
    gid,
    content: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
  };
}

export function directory(path: string, mode = 0o755, uid = 0, gid = 0): OverlayEntry {
  return { type: 'directory', path, mode, uid, gid };
}

export function symlink(path: string, target: string): OverlayEntry {
  return { type: 'symlink', path, target, uid: 0, gid: 0 };
}
