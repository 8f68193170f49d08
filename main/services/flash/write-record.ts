import { AppError } from '../../../shared/errors.js';
import type { BlockTarget } from './block-target.js';
import { hashPiece, PIECE_HASH_BYTES } from './piece-hash.js';

/** Bytes `start` (included) to `end` (excluded) of a device. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One write as recorded: its range and what the range must read back as. */
export interface RecordedExtent extends ByteRange {
  /**
   * The hash of each RECORD_PIECE_BYTES piece from `start` (the last one may be shorter), each
   * PIECE_HASH_BYTES long; null when the range was zeroed and must read back as zeros.
   */
  hashes: Buffer | null;
}

/**
 * A hash per 16 KiB: a mismatch is located to 16 KiB (to the byte for zeroed ranges). Smaller
 * pieces cost more per call than the hashing itself (4 KiB pieces: ~30 ms per 120 MB; 16 KiB:
 * ~9 ms; 64 KiB: ~5 ms).
 */
export const RECORD_PIECE_BYTES = 16 * 1024;

function hashAll(data: Uint8Array): Buffer {
  const pieces = Math.ceil(data.length / RECORD_PIECE_BYTES);
  const hashes = Buffer.allocUnsafe(pieces * PIECE_HASH_BYTES);
  for (let piece = 0; piece < pieces; piece += 1) {
    const start = piece * RECORD_PIECE_BYTES;
    hashPiece(data.subarray(start, start + RECORD_PIECE_BYTES)).copy(hashes, piece * PIECE_HASH_BYTES);
  }
  return hashes;
}

/**
 * Every range written to a target, with hashes, in device order and without overlaps: a later
 * write replaces what it covers of an earlier one. Zeroed ranges may be overwritten in any part;
 * written data only whole or at piece boundaries (the card writer never rewrites its own data:
 * anything else is a bug, reported as one).
 */
export class WriteRecord {
  private readonly extents: RecordedExtent[] = [];

  /** The recorded extents, sorted, not overlapping. */
  list(): readonly RecordedExtent[] {
    return this.extents;
  }

  /** Bytes recorded (each byte once, whatever the number of writes to it). */
  get bytes(): number {
    return this.extents.reduce((sum, extent) => sum + extent.end - extent.start, 0);
  }

  /** The recorded ranges with adjacent ones merged: what a read-back reads. */
  ranges(): ByteRange[] {
    const merged: ByteRange[] = [];
    for (const { start, end } of this.extents) {
      const last = merged.at(-1);
      if (last !== undefined && last.end === start) last.end = end;
      else merged.push({ start, end });
    }
    return merged;
  }

  addWrite(position: number, data: Uint8Array): void {
    if (data.length > 0) this.place({ start: position, end: position + data.length, hashes: hashAll(data) });
  }

  addZeros(position: number, length: number): void {
    if (length > 0) this.place({ start: position, end: position + length, hashes: null });
  }

  private place(extent: RecordedExtent): void {
    const extents = this.extents;
    // The first extent that ends after the new one starts (extents are sorted and disjoint, so
    // their ends are sorted too).
    let low = 0;
    let high = extents.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((extents[middle] as RecordedExtent).end > extent.start) high = middle;
      else low = middle + 1;
    }
    let last = low;
    const kept: RecordedExtent[] = [];
    while (last < extents.length && (extents[last] as RecordedExtent).start < extent.end) {
      const old = extents[last] as RecordedExtent;
      if (old.start < extent.start) kept.push(cut(old, old.start, extent.start));
      if (old.end > extent.end) kept.push(cut(old, extent.end, old.end));
      last += 1;
    }
    const before = kept.filter((part) => part.end <= extent.start);
    const after = kept.filter((part) => part.start >= extent.end);
    extents.splice(low, last - low, ...before, extent, ...after);
    this.mergeZeros(low + before.length);
  }

  /** Merge the zeroed extent at `index` with zeroed neighbours it touches. */
  private mergeZeros(index: number): void {
    const extents = this.extents;
    let at = index;
    const current = extents[at] as RecordedExtent;
    if (current.hashes !== null) return;
    const previous = extents[at - 1];
    if (previous !== undefined && previous.hashes === null && previous.end === current.start) {
      previous.end = current.end;
      extents.splice(at, 1);
      at -= 1;
    }
    const merged = extents[at] as RecordedExtent;
    const next = extents[at + 1];
    if (next !== undefined && next.hashes === null && next.start === merged.end) {
      merged.end = next.end;
      extents.splice(at + 1, 1);
    }
  }
}

/** The part [from, to) of `extent`; a written extent can only be cut at its piece boundaries. */
function cut(extent: RecordedExtent, from: number, to: number): RecordedExtent {
  if (extent.hashes === null) return { start: from, end: to, hashes: null };
  const first = (from - extent.start) / RECORD_PIECE_BYTES;
  const end =
    to === extent.end ? Math.ceil((to - extent.start) / RECORD_PIECE_BYTES) : (to - extent.start) / RECORD_PIECE_BYTES;
  if (!Number.isInteger(first) || !Number.isInteger(end)) {
    throw new AppError(
      'internal',
      `bytes ${from}-${to - 1} are what is left of a write at ${extent.start}-${extent.end - 1} that a later write partly covered; the write record keeps hashes per ${RECORD_PIECE_BYTES}-byte piece and cannot cut one`,
    );
  }
  return { start: from, end: to, hashes: extent.hashes.subarray(first * PIECE_HASH_BYTES, end * PIECE_HASH_BYTES) };
}

/** A target that records every range written or zeroed through it (see WriteRecord). */
export interface RecordingTarget extends BlockTarget {
  readonly record: WriteRecord;
}

/**
 * Wrap `target` so that every write and zero is recorded with hashes, computed from the buffer
 * as it is handed to the target (the card writer does not touch a buffer until its write is
 * done). Hashing costs ~9 ms per 120 MB written.
 */
export function recordWrites(target: BlockTarget): RecordingTarget {
  const record = new WriteRecord();
  return {
    record,
    description: target.description,
    size: target.size,
    allocate: (size) => target.allocate(size),
    write(buffer, position) {
      record.addWrite(position, buffer);
      return target.write(buffer, position);
    },
    zero(position, length) {
      record.addZeros(position, length);
      return target.zero(position, length);
    },
    read: (buffer, position) => target.read(buffer, position),
    flush: () => target.flush(),
    commit: () => target.commit(),
    abort: () => target.abort(),
  };
}
