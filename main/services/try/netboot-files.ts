import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { AppError } from '../../../shared/errors.js';
import { openTarball } from '../boot-media/tarball-source.js';

/**
 * Alpine's netboot files for QEMU: the `virt` kernel, initramfs and modloop, unpacked from the
 * verified netboot tarball (alpine-netboot-<ver>-<arch>.tar.gz, which holds only boot/) into a
 * folder of the cache named after the tarball's SHA-256, once.
 */
export interface NetbootFiles {
  kernel: string;
  initrd: string;
  /** Served to the guest as /modloop-virt; null when none is used (custom kernels). */
  modloop: string | null;
}

export const NETBOOT_MEMBERS = {
  kernel: 'boot/vmlinuz-virt',
  initrd: 'boot/initramfs-virt',
  modloop: 'boot/modloop-virt',
} as const;

/** Unpack the three files of `tarball` (verified, sha256 known) into `<cacheDir>/netboot/<sha256>/`. */
export async function unpackNetboot(options: {
  tarball: string;
  sha256: string;
  cacheDir: string;
  signal?: AbortSignal;
}): Promise<NetbootFiles> {
  const folder = path.join(options.cacheDir, 'netboot', options.sha256);
  const files = {
    kernel: path.join(folder, 'vmlinuz-virt'),
    initrd: path.join(folder, 'initramfs-virt'),
    modloop: path.join(folder, 'modloop-virt'),
  };
  if (Object.values(files).every((file) => existsSync(file))) return files;
  const partial = `${folder}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    const wanted = new Map<string, string>(
      Object.entries(NETBOOT_MEMBERS).map(([key, member]) => [member, path.basename(files[key as keyof typeof files])]),
    );
    const source = await openTarball(options.tarball, options.signal ? { signal: options.signal } : {});
    for await (const entry of source.entries()) {
      if (entry.kind !== 'file') continue;
      const name = wanted.get(entry.path);
      if (name === undefined) {
        for await (const chunk of entry.body) void chunk; // skip its data
        continue;
      }
      const copy = async function* () {
        for await (const chunk of entry.body) yield Buffer.from(chunk); // lent views: copied
      };
      await pipeline(Readable.from(copy()), createWriteStream(path.join(partial, name)));
      wanted.delete(entry.path);
    }
    if (wanted.size > 0) {
      throw new AppError('invalid-media', `the netboot tarball has no ${[...wanted.keys()].join(', ')}`, {
        location: options.tarball,
        hint: 'apkovl try netboots the virt kernel of alpine-netboot-<version>-<arch>.tar.gz from an Alpine mirror',
      });
    }
    await mkdir(path.dirname(folder), { recursive: true });
    await rm(folder, { recursive: true, force: true });
    await rename(partial, folder);
    return files;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}
