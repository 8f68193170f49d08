import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export type TarMember =
  | { name: string; content: string | Buffer; mode?: number }
  | { name: string; type: 'directory' }
  | { name: string; type: 'symlink' | 'link'; linkname: string }
  | { name: string; type: 'character-device' | 'block-device' | 'fifo' };

/** A .tar.gz made member by member, for media no real tar tool would write (traversal, devices). */
export async function writeTarGz(file: string, members: TarMember[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, zlib.createGzip({ level: 1 }), createWriteStream(file));
  for (const member of members) {
    const mtime = new Date(Date.UTC(2025, 0, 1));
    if ('content' in member) {
      const data = typeof member.content === 'string' ? Buffer.from(member.content) : member.content;
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: member.name, size: data.length, mode: member.mode ?? 0o644, mtime }, data, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    } else if (member.type === 'symlink' || member.type === 'link') {
      pack.entry({ name: member.name, type: member.type, linkname: member.linkname, mtime });
    } else if (member.type === 'directory') {
      pack.entry({ name: member.name, type: 'directory', mtime });
    } else {
      pack.entry({ name: member.name, type: member.type, mtime, devmajor: 1, devminor: 3 });
    }
  }
  pack.finalize();
  await done;
}

/** Minimal valid-looking Alpine media members, to which a test adds a bad one. */
export function alpineMembers(): TarMember[] {
  return [
    { name: './', type: 'directory' },
    { name: './.alpine-release', content: 'alpine-rpi-3.22.2 251009\n' },
    { name: './boot/', type: 'directory' },
    { name: './boot/vmlinuz-rpi', content: Buffer.alloc(100_000, 7) },
    { name: './cmdline.txt', content: 'modules=loop,squashfs quiet\n' },
  ];
}
