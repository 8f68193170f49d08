import type { Medium } from '../../../shared/model/requests.js';
import type { ReadableMedium } from '../image/fat-reader.js';
import { openReadableFile } from '../image/readable-file.js';

/** The card being verified, open read-only. */
export interface VerifyMedium extends ReadableMedium {
  readonly kind: Medium['kind'];
  /** The path, for messages. */
  readonly description: string;
  /** A buffer the medium reads into without a bounce copy (page-aligned memory for a device). */
  allocate(size: number): Buffer;
  close(): Promise<void>;
}

/**
 * Open an image file or a device for reading, never for writing. A device is read through its
 * own O_DIRECT descriptor (the flash module's uncached reader): neither from the page cache nor
 * into it, so a stale cache cannot hide what the card really holds, and verifying leaves no
 * cached copy behind that a later check could be fooled by.
 */
export async function openVerifyMedium(medium: Medium): Promise<VerifyMedium> {
  if (medium.kind === 'image') {
    const file = await openReadableFile(medium.path);
    return {
      kind: 'image',
      description: medium.path,
      size: file.size,
      read: (buffer, position) => file.read(buffer, position),
      allocate: (size) => Buffer.allocUnsafe(size),
      close: () => file.close(),
    };
  }
  const { readDeviceIdentity } = await import('../flash/device-identity.js');
  const { openUncachedReader } = await import('../flash/uncached-reader.js');
  const reader = await openUncachedReader(await readDeviceIdentity(medium.path));
  return {
    kind: 'device',
    description: medium.path,
    size: reader.size,
    read: (buffer, position) => reader.read(buffer, position),
    allocate: (size) => reader.allocate(size),
    close: () => reader.close(),
  };
}
