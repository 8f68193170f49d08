import { open } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';

/**
 * What a file the user names really is, decided by its content in this one place (never by its
 * name): a machine definition (YAML text), a gzip file (an apkovl or a Raspberry Pi tarball, told
 * apart by the slot it is given for), or an ISO 9660 image (x86 boot media).
 */
export type FileKind = 'yaml' | 'gzip' | 'iso9660' | 'other';

const ISO_DESCRIPTOR = 0x8001;

export async function detectFileKind(file: string): Promise<FileKind> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new AppError('not-found', `cannot read ${displayText(file)}: ${(error as Error).message}`, {
      location: file,
      hint: 'check the path',
      cause: error,
    });
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new AppError('invalid-input', `${displayText(file)} is not a regular file`, { location: file });
    }
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    const magic = Buffer.alloc(5);
    if (info.size >= ISO_DESCRIPTOR + 5) {
      await handle.read(magic, 0, 5, ISO_DESCRIPTOR);
      if (magic.toString('latin1') === 'CD001') return 'iso9660';
    }
    return looksLikeText(head.subarray(0, bytesRead)) ? 'yaml' : 'other';
  } finally {
    await handle.close();
  }
}

/** UTF-8 text without NUL bytes or other binary control characters. */
function looksLikeText(bytes: Buffer): boolean {
  if (bytes.length === 0) return true;
  for (const byte of bytes)
    if (byte === 0 || (byte < 0x09 && byte !== 0x1b) || (byte > 0x0d && byte < 0x20)) return false;
  return true;
}

/** A source file of a build: a machine definition, or an apkovl used as it is. */
export async function sourceKindOf(file: string, location: string): Promise<'definition' | 'apkovl'> {
  const kind = await detectFileKind(file);
  if (kind === 'yaml') return 'definition';
  if (kind === 'gzip') return 'apkovl';
  throw new AppError(
    'invalid-input',
    `${displayText(file)} is neither a machine definition (YAML text) nor an apkovl (gzip)`,
    { location, hint: 'give a .yml machine definition or a <hostname>.apkovl.tar.gz' },
  );
}

/** Boot media: Alpine's Raspberry Pi tarball (gzip) or its x86_64 ISO. */
export async function mediaKindOf(file: string, location: string): Promise<'tarball' | 'iso'> {
  const kind = await detectFileKind(file);
  if (kind === 'gzip') return 'tarball';
  if (kind === 'iso9660') return 'iso';
  throw new AppError(
    'invalid-media',
    `${displayText(file)} is not Alpine boot media: neither a gzip tarball nor an ISO 9660 image`,
    {
      location,
      hint: 'use alpine-rpi-<version>-<arch>.tar.gz for a Raspberry Pi, or alpine-<flavor>-<version>-x86_64.iso for a PC',
    },
  );
}
