import type { DeviceIdentity } from '../../../shared/model/device-identity.js';
import type { ReadableMedium } from '../image/fat-reader.js';
import { allocateAligned } from './aligned-memory.js';
import { openDirect } from './device-open.js';

/** A device read through its own descriptor, never through the page cache. */
export interface UncachedReader extends ReadableMedium {
  readonly description: string;
  /** A buffer the device can read into directly (any other buffer goes through a bounce copy). */
  allocate(size: number): Buffer;
  close(): Promise<void>;
}

/**
 * Open a new read-only descriptor on the device with O_DIRECT, after checking it is still the
 * confirmed device. Every read goes to the device itself: Linux serves O_DIRECT reads neither
 * from the page cache nor into it (it first writes back any dirty cached pages of the range, so
 * what is read is what the device holds). This is what the read-back after a write uses, while
 * the write's exclusive descriptor is still open so that nothing can mount the card meanwhile.
 *
 * `posix_fadvise(POSIX_FADV_DONTNEED)`, which Raspberry Pi Imager adds, is not called: Node has
 * no binding for it, and it would change nothing here, because O_DIRECT reads never consult the
 * cache and the target's O_DIRECT writes already drop the cached pages of every range they write.
 */
export async function openUncachedReader(identity: DeviceIdentity): Promise<UncachedReader> {
  const file = await openDirect(identity, 'read');
  return {
    description: identity.path,
    size: identity.size,
    allocate: (size) => allocateAligned(size),
    read: (buffer, position) => file.read(buffer, position),
    close: () => file.handle.close(),
  };
}
