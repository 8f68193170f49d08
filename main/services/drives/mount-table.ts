import { readFile } from 'node:fs/promises';

/** One line of /proc/self/mountinfo. */
export interface Mount {
  /** `major:minor` of the mounted device (0:N for file systems without one: tmpfs, overlay, btrfs). */
  device: string;
  mountpoint: string;
  filesystem: string;
  /** `/dev/sdb1`, `tmpfs`, `server:/export`, ... */
  source: string;
}

/** The kernel writes space, tab, newline and backslash in paths as octal escapes (`\040`). */
export function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const fields = before.split(' ');
    const [filesystem, source] = after.split(' ');
    const device = fields[2];
    const mountpoint = fields[4];
    if (device === undefined || mountpoint === undefined || filesystem === undefined || source === undefined) continue;
    mounts.push({
      device,
      mountpoint: unescapeOctal(mountpoint),
      filesystem: unescapeOctal(filesystem),
      source: unescapeOctal(source),
    });
  }
  return mounts;
}

/** This process's view of what is mounted where. */
export async function readMounts(): Promise<Mount[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

const isUnder = (file: string, mountpoint: string) =>
  mountpoint === '/' || file === mountpoint || file.startsWith(`${mountpoint}/`);

/** The mount a (resolved, absolute) path lives on: the last of the deepest mounts above it. */
export function mountOf(mounts: Mount[], file: string): Mount | undefined {
  let found: Mount | undefined;
  for (const mount of mounts) {
    if (!isUnder(file, mount.mountpoint)) continue;
    // Later mounts on the same point hide earlier ones.
    if (found === undefined || mount.mountpoint.length >= found.mountpoint.length) found = mount;
  }
  return found;
}
