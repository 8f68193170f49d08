import zlib from 'node:zlib';
import tar from 'tar-stream';
import type { OverlayEntry } from './overlay-entry.js';

/**
 * Pack overlay entries into a deterministic .apkovl.tar.gz: entries in the given (sorted)
 * order, directories with a trailing /, no ./ prefix, one fixed mtime, numeric owners with the
 * names of the overlay's own /etc/passwd and /etc/group, gzip -9 without name or time and with
 * a fixed OS byte.
 */

function idNames(entries: OverlayEntry[], path: string): Map<number, string> {
  const entry = entries.find((candidate) => candidate.path === path);
  const names = new Map<number, string>();
  if (entry?.type !== 'file') return names;
  for (const line of entry.content.toString('utf8').split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && !names.has(Number(id))) names.set(Number(id), name);
  }
  return names;
}

export async function packApkovl(entries: OverlayEntry[], mtime: number): Promise<Buffer> {
  const users = idNames(entries, 'etc/passwd');
  const groups = idNames(entries, 'etc/group');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const date = new Date(mtime * 1000);
  for (const entry of entries) {
    const owner = {
      uid: entry.uid,
      gid: entry.gid,
      uname: users.get(entry.uid) ?? '',
      gname: groups.get(entry.gid) ?? '',
      mtime: date,
    };
    if (entry.type === 'directory') {
      pack.entry({ ...owner, name: `${entry.path}/`, type: 'directory', mode: entry.mode });
    } else if (entry.type === 'symlink') {
      pack.entry({ ...owner, name: entry.path, type: 'symlink', linkname: entry.target, mode: 0o777 });
    } else {
      pack.entry(
        { ...owner, name: entry.path, type: 'file', mode: entry.mode, size: entry.content.length },
        entry.content,
      );
    }
  }
  pack.finalize();
  await ended;
  const gzip = zlib.gzipSync(Buffer.concat(chunks), { level: 9 });
  gzip[9] = 3; // OS: Unix, whatever platform built it
  return gzip;
}
