import { AppError, CancelledError } from '../../../shared/errors.js';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import type { ReadableMedium } from '../image/fat-reader.js';
import { byteRange } from './direct-file.js';
import { hashPiece, PIECE_HASH_BYTES } from './piece-hash.js';
import { RECORD_PIECE_BYTES, type ByteRange, type RecordedExtent, type WriteRecord } from './write-record.js';

/** A range that read back differently from what was written there. */
export interface ReadBackMismatch extends ByteRange {
  /** What the range should hold: zeros (located to the byte) or written data (to the piece). */
  expected: 'zeros' | 'data';
}

export interface ReadBackResult {
  /** Bytes read back: every recorded byte once. */
  bytes: number;
  /** Every mismatching range in device order, adjacent ones of the same kind merged; empty when all matched. */
  mismatches: ReadBackMismatch[];
}

/** Where to read back from: for a device, an uncached reader (openUncachedReader). */
export interface ReadBackSource extends ReadableMedium {
  /** For messages: the device path. */
  readonly description?: string;
  /** Buffers the source reads into best (aligned memory for direct I/O). */
  allocate?(size: number): Buffer;
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Milliseconds, for the progress meter; injected by tests. */
  now?: () => number;
}

/** Bytes per read: a multiple of RECORD_PIECE_BYTES, so pieces never straddle two reads. */
const READ_BYTES = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(READ_BYTES);

function addMismatch(mismatches: ReadBackMismatch[], mismatch: ReadBackMismatch): void {
  const last = mismatches.at(-1);
  if (last !== undefined && last.expected === mismatch.expected && last.end === mismatch.start) last.end = mismatch.end;
  else mismatches.push(mismatch);
}

/** Mismatches in `data`, read at `position` from `extent`. */
function compare(extent: RecordedExtent, position: number, data: Buffer, mismatches: ReadBackMismatch[]): void {
  if (extent.hashes === null) {
    if (data.equals(ZEROS.subarray(0, data.length))) return;
    let first = -1;
    let last = -1;
    for (let index = 0; index < data.length; index += 1) {
      if (data[index] !== 0) {
        if (first < 0) first = index;
        last = index;
      }
    }
    if (first >= 0) addMismatch(mismatches, { start: position + first, end: position + last + 1, expected: 'zeros' });
    return;
  }
  for (let offset = 0; offset < data.length; offset += RECORD_PIECE_BYTES) {
    const piece = (position + offset - extent.start) / RECORD_PIECE_BYTES;
    const expected = extent.hashes.subarray(piece * PIECE_HASH_BYTES, (piece + 1) * PIECE_HASH_BYTES);
    const actual = hashPiece(data.subarray(offset, offset + RECORD_PIECE_BYTES));
    if (!actual.equals(expected)) {
      const start = position + offset;
      addMismatch(mismatches, { start, end: Math.min(start + RECORD_PIECE_BYTES, extent.end), expected: 'data' });
    }
  }
}

/**
 * Read back every range in `record` from `source` and compare it with what was written: the
 * hash of each piece of written data, or zeros for zeroed ranges. Reads only recorded ranges,
 * in device order, never the rest of the device. Reports progress in the 'verify' phase.
 */
export async function verifyWrittenRanges(
  record: WriteRecord,
  source: ReadBackSource,
  onProgress?: ProgressListener,
  options: VerifyOptions = {},
): Promise<ReadBackResult> {
  const total = record.bytes;
  const meter =
    onProgress === undefined
      ? null
      : new ProgressMeter({
          phase: 'verify',
          label: 'Reading back what was written',
          total,
          listener: onProgress,
          now: options.now ?? (() => performance.now()),
        });
  const buffer = source.allocate?.(READ_BYTES) ?? Buffer.allocUnsafeSlow(READ_BYTES);
  const mismatches: ReadBackMismatch[] = [];
  for (const extent of record.list()) {
    for (let position = extent.start; position < extent.end; position += READ_BYTES) {
      if (options.signal?.aborted) throw new CancelledError();
      const length = Math.min(READ_BYTES, extent.end - position);
      const data = buffer.subarray(0, length);
      let done = 0;
      while (done < length) {
        const count = await source.read(data.subarray(done), position + done);
        if (count === 0) {
          throw new AppError('io', `the device ended at byte ${position + done} while reading back what was written`, {
            location: byteRange(source.description ?? 'the device', position + done, length - done),
            hint: 'the card or stick was removed, or it reports a size it does not have',
          });
        }
        done += count;
      }
      compare(extent, position, data, mismatches);
      meter?.advance(length);
    }
  }
  meter?.finish();
  return { bytes: total, mismatches };
}

/** A read-back that found mismatches; `result` has every mismatching range, for mapping to files. */
export class ReadBackError extends AppError {
  constructor(
    readonly result: ReadBackResult,
    description: string,
  ) {
    const first = result.mismatches[0] ?? { start: 0, end: 0, expected: 'data' };
    const bytes = result.mismatches.reduce((sum, mismatch) => sum + mismatch.end - mismatch.start, 0);
    const ranges = result.mismatches.length === 1 ? 'one range' : `${result.mismatches.length} ranges`;
    super(
      'invalid-media',
      `${description} did not keep what was written: ${ranges} (${bytes} bytes) read back different, the first at bytes ${first.start}-${first.end - 1}, which should hold ${first.expected === 'zeros' ? 'zeros' : 'written data'}`,
      {
        location: byteRange(description, first.start, first.end - first.start),
        hint: 'the card may be worn out, fake or in a faulty reader: write it again, and if it fails again use another card (and another reader)',
      },
    );
    this.name = 'ReadBackError';
  }
}

/** The error for a read-back that found mismatches, or null when everything matched. */
export function readBackError(result: ReadBackResult, description: string): ReadBackError | null {
  return result.mismatches.length === 0 ? null : new ReadBackError(result, description);
}
