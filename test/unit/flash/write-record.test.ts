import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { hashPiece } from '../../../main/services/flash/piece-hash.js';
import { RECORD_PIECE_BYTES, WriteRecord, recordWrites } from '../../../main/services/flash/write-record.js';
import { MemoryTarget } from '../../helpers/memory-target.js';

const KiB = 1024;
const piece = RECORD_PIECE_BYTES;

function shape(record: WriteRecord): [number, number, string][] {
  return record.list().map((extent) => [extent.start, extent.end, extent.hashes === null ? 'zeros' : 'data']);
}

describe('the write record', () => {
  it('hashes each piece of a write, the last one shorter', () => {
    const record = new WriteRecord();
    const data = randomBytes(2 * piece + 100);
    record.addWrite(4096, data);
    const [extent] = record.list();
    expect(extent?.hashes?.length).toBe(3 * 8);
    expect(extent?.hashes?.subarray(16, 24)).toEqual(hashPiece(data.subarray(2 * piece)));
    expect(extent?.hashes?.subarray(0, 8)).toEqual(hashPiece(Buffer.from(data.subarray(0, piece))));
  });

  it('keeps extents sorted and merges adjacent ranges for reading, counting each byte once', () => {
    const record = new WriteRecord();
    record.addWrite(2 * piece, randomBytes(piece));
    record.addWrite(0, randomBytes(piece));
    record.addWrite(piece, randomBytes(piece));
    record.addWrite(10 * piece, randomBytes(512));
    expect(record.list().map((extent) => extent.start)).toEqual([0, piece, 2 * piece, 10 * piece]);
    expect(record.ranges()).toEqual([
      { start: 0, end: 3 * piece },
      { start: 10 * piece, end: 10 * piece + 512 },
    ]);
    expect(record.bytes).toBe(3 * piece + 512);
  });

  it('merges touching zeroed ranges and lets later writes cut into them', () => {
    const record = new WriteRecord();
    record.addZeros(0, 1024 * KiB);
    record.addZeros(1024 * KiB, 1024 * KiB);
    expect(shape(record)).toEqual([[0, 2048 * KiB, 'zeros']]);
    record.addWrite(0, randomBytes(512));
    record.addWrite(1024 * KiB, randomBytes(16 * KiB));
    expect(shape(record)).toEqual([
      [0, 512, 'data'],
      [512, 1024 * KiB, 'zeros'],
      [1024 * KiB, 1040 * KiB, 'data'],
      [1040 * KiB, 2048 * KiB, 'zeros'],
    ]);
    expect(record.bytes).toBe(2048 * KiB);
    // Zeros written over data replace it.
    record.addZeros(0, 4096);
    expect(shape(record)[0]).toEqual([0, 1024 * KiB, 'zeros']);
  });

  it('replaces a write covered whole by a later one, and cuts one at piece boundaries', () => {
    const record = new WriteRecord();
    record.addWrite(0, randomBytes(4 * piece));
    const later = randomBytes(piece);
    record.addWrite(piece, later);
    expect(shape(record)).toEqual([
      [0, piece, 'data'],
      [piece, 2 * piece, 'data'],
      [2 * piece, 4 * piece, 'data'],
    ]);
    expect(record.list()[1]?.hashes).toEqual(hashPiece(later));
    expect(record.list()[2]?.hashes?.length).toBe(16);
    record.addWrite(0, randomBytes(4 * piece));
    expect(shape(record)).toEqual([[0, 4 * piece, 'data']]);
  });

  it('refuses, as a bug, to cut written data inside a piece', () => {
    const record = new WriteRecord();
    record.addWrite(0, randomBytes(2 * piece));
    const cut = (): void => record.addWrite(512, randomBytes(512));
    expect(cut).toThrow(AppError);
    expect(cut).toThrow(/cannot cut/);
    try {
      cut();
    } catch (error) {
      expect((error as AppError).code).toBe('internal');
    }
  });

  it('records through a wrapped target what the target received', async () => {
    const memory = new MemoryTarget(8 * 1024 * KiB);
    const target = recordWrites(memory);
    await target.zero(0, 1024 * KiB);
    await target.write(Buffer.alloc(4096, 7), 8192);
    expect(shape(target.record)).toEqual([
      [0, 8192, 'zeros'],
      [8192, 12288, 'data'],
      [12288, 1024 * KiB, 'zeros'],
    ]);
    expect(memory.bytes).toBe(1024 * KiB + 4096);
    expect(target.size).toBe(memory.size);
  });
});
