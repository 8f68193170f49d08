/** FAT32 table entries from the builder's allocations (runs of consecutive clusters). */

export const FAT_END_OF_CHAIN = 0x0fff_ffff;
export const FAT_MEDIA_ENTRY = 0x0fff_fff8;
export const FAT_ENTRY_MASK = 0x0fff_ffff;
export const FAT_BAD_CLUSTER = 0x0fff_fff7;
export const FAT_ENTRY_SIZE = 4;

/** `count` consecutive clusters from `start`; the last one points to `next`. */
export interface Extent {
  start: number;
  count: number;
  /** Cluster after the last one of this run, or FAT_END_OF_CHAIN. */
  next: number;
}

function findFirstExtent(extents: readonly Extent[], cluster: number): number {
  let low = 0;
  let high = extents.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const extent = extents[middle] as Extent;
    if (extent.start + extent.count <= cluster) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Fill `into` with the FAT entries `first` .. `first + into.length / 4 - 1`. `extents` must be
 * sorted by start and must not overlap. Entries no extent covers are free (0).
 */
export function fillFatEntries(extents: readonly Extent[], first: number, into: Buffer): void {
  const count = into.length / FAT_ENTRY_SIZE;
  // FAT entries are little-endian; a typed array writes them directly on little-endian hosts.
  const view = LITTLE_ENDIAN && into.byteOffset % 4 === 0 ? new Uint32Array(into.buffer, into.byteOffset, count) : null;
  const set = (index: number, value: number): void => {
    if (view) view[index] = value;
    else into.writeUInt32LE(value, index * FAT_ENTRY_SIZE);
  };
  into.fill(0);
  if (first === 0 && count > 0) set(0, FAT_MEDIA_ENTRY);
  if (first <= 1 && first + count > 1) set(1 - first, FAT_END_OF_CHAIN);
  const end = first + count;
  for (let index = findFirstExtent(extents, first); index < extents.length; index += 1) {
    const extent = extents[index] as Extent;
    if (extent.start >= end) break;
    const last = extent.start + extent.count - 1;
    const from = Math.max(extent.start, first);
    const to = Math.min(last, end - 1);
    for (let cluster = from; cluster <= to; cluster += 1) {
      set(cluster - first, cluster === last ? extent.next : cluster + 1);
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
