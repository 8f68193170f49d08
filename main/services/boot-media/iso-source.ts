import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AppError, CancelledError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import type { MediaEntry } from '../image/media-entry.js';
import { openIso, type IsoNode } from './iso9660.js';
import { normalizeMemberName, resolveSymlinkTarget } from './media-path.js';
import type { MediaSource, MediaSourceOptions } from './media-source.js';

/**
 * What a UEFI USB stick needs from Alpine's x86_64 ISO: the EFI loader (stored as
 * EFI/BOOT/BOOTX64.EFI, the removable-media path), GRUB's configuration, the kernel, initramfs,
 * modloop (and CPU microcode of the extended flavor), the package repository and
 * .alpine-release. Left out: syslinux (BIOS boot is not supported), the El Torito EFI image,
 * System.map and kernel configs.
 */
export function keepOnStick(path: string): boolean {
  if (path === '.alpine-release') return true;
  if (path === 'apks' || path.startsWith('apks/')) return true;
  if (path === 'efi' || path.startsWith('efi/')) return true;
  if (path === 'boot') return true;
  if (path === 'boot/grub') return true;
  if (path.startsWith('boot/grub/')) return !/\/efi\.img$/.test(path);
  return /^boot\/(vmlinuz|initramfs|modloop)-[^/]+$/.test(path) || /^boot\/[^/]*-ucode\.img$/.test(path);
}

/**
 * What the FAT partition of a BIOS+UEFI stick takes from the ISO: the EFI loader (GRUB finds the
 * ISO partition by its label and boots from there) and .alpine-release. Everything else stays
 * in the ISO, which is partition 1 of that stick.
 */
export function keepOnHybridFat(path: string): boolean {
  return path === '.alpine-release' || path === 'efi' || path.startsWith('efi/');
}

/** Paths under efi/ are stored in capitals (EFI/BOOT/BOOTX64.EFI), as firmware documentation writes them. */
export function stickPath(path: string): string {
  return path === 'efi' || path.startsWith('efi/') ? path.toUpperCase() : path;
}

function* walk(node: IsoNode, prefix: string): Generator<{ path: string; node: IsoNode }> {
  for (const child of node.children) {
    const path = prefix === '' ? child.name : `${prefix}/${child.name}`;
    yield { path, node: child };
    if (child.isDirectory) yield* walk(child, path);
  }
}

const READ_PIECE = 1 << 20;

/** An Alpine x86_64 ISO as boot media for a UEFI stick. */
export async function openIsoMedia(
  path: string,
  options: MediaSourceOptions & { select?: (path: string) => boolean } = {},
): Promise<MediaSource> {
  const image = await openIso(path);
  const select = options.select ?? keepOnStick;
  const selected = [...walk(image.root, '')].filter(({ path: member }) => select(member));
  await image.close();
  const size = selected.reduce((sum, { node }) => sum + (node.isDirectory ? 0 : node.size), 0);
  const fingerprint = createHash('sha256').update(image.descriptor).digest();

  async function* entries(): AsyncGenerator<MediaEntry> {
    const handle = await open(path, 'r');
    let read = 0;
    // A file's data in pieces; fresh buffers, as the card writer may hold them until written.
    async function* body(start: number, length: number, where: string): AsyncGenerator<Uint8Array> {
      for (let done = 0; done < length;) {
        if (options.signal?.aborted) throw new CancelledError();
        const piece = Buffer.allocUnsafe(Math.min(READ_PIECE, length - done));
        const { bytesRead } = await handle.read(piece, 0, piece.length, start + done);
        if (bytesRead === 0)
          throw new AppError('invalid-media', `the image ends inside ${displayText(where)}: it is truncated`, {
            location: path,
          });
        done += bytesRead;
        read += bytesRead;
        options.onRead?.(read);
        yield piece.subarray(0, bytesRead);
      }
    }
    try {
      for (const { path: member, node } of selected) {
        const target = stickPath(member);
        if (node.isDirectory) {
          yield { kind: 'directory', path: target, mtime: node.mtime };
        } else if (node.symlinkTarget !== null) {
          // An absolute target names the image's own root, where the ISO is mounted.
          const link = node.symlinkTarget;
          const resolved = link.startsWith('/')
            ? normalizeMemberName(link.replace(/^\/+/, ''))
            : resolveSymlinkTarget(member, link);
          if (!resolved.ok || resolved.path === '') {
            throw new AppError(
              'invalid-media',
              `the symbolic link "${displayText(member)}" is refused: ${resolved.ok ? 'it points to the root of the image' : displayText(resolved.problem)}`,
              {
                location: `${path}, ${displayText(member)}`,
                hint: 'use an Alpine ISO image (alpine-<flavor>-<version>-x86_64.iso), unchanged',
              },
            );
          }
          yield { kind: 'link', path: target, target: stickPath(resolved.path), hard: false, mtime: node.mtime };
        } else {
          yield {
            kind: 'file',
            path: target,
            size: node.size,
            mtime: node.mtime,
            body: body(node.extent * 2048, node.size, member),
          };
        }
      }
    } finally {
      await handle.close();
    }
  }
  return { path, size, fingerprint, entries };
}
