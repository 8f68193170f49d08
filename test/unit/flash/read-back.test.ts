import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../../shared/errors.js';
import type { ProgressEvent } from '../../../shared/model/progress.js';
import { readBackError, verifyWrittenRanges } from '../../../main/services/flash/read-back.js';
import { RECORD_PIECE_BYTES, recordWrites } from '../../../main/services/flash/write-record.js';
import { MemoryTarget } from '../../helpers/memory-target.js';

const MiB = 1024 * 1024;

/** A target with zeros at the start and end and 6 MiB of data at 1 MiB, recorded. */
async function written() {
  const memory = new MemoryTarget(16 * MiB, '/dev/test');
  const target = recordWrites(memory);
  await target.zero(0, 2 * MiB);
  await target.zero(15 * MiB, MiB);
  for (let position = MiB; position < 7 * MiB; position += MiB) await target.write(randomBytes(MiB), position);
  await target.write(randomBytes(512), 0);
  return { memory, record: target.record };
}

async function poke(memory: MemoryTarget, position: number, value?: number): Promise<void> {
  const byte = Buffer.alloc(1);
  await memory.read(byte, position);
  byte[0] = value ?? (byte[0] ?? 0) ^ 0xff;
  await memory.write(byte, position);
}

describe('reading back what was written', () => {
  it('matches when the device holds what was written, and reads only the recorded ranges', async () => {
    const { memory, record } = await written();
    let clock = 0;
    const events: ProgressEvent[] = [];
    const reads: [number, number][] = [];
    const source = {
      size: memory.size,
      read: (buffer: Buffer, position: number) => {
        reads.push([position, position + buffer.length]);
        return memory.read(buffer, position);
      },
    };
    const result = await verifyWrittenRanges(record, source, (event) => events.push(event), {
      now: () => (clock += 100),
    });
    expect(result).toEqual({ bytes: 8 * MiB, mismatches: [] });
    expect(readBackError(result, '/dev/test')).toBeNull();
    // Nothing between 7 MiB and 15 MiB (never written) was read.
    expect(reads.every(([start, end]) => end <= 7 * MiB || start >= 15 * MiB)).toBe(true);
    expect(reads.reduce((sum, [start, end]) => sum + end - start, 0)).toBe(8 * MiB);
    expect(events.every((event) => event.phase === 'verify' && event.total === 8 * MiB)).toBe(true);
    expect(events.at(-1)?.bytes).toBe(8 * MiB);
  });

  it('names the piece of written data that changed, and the exact bytes of zeros that did', async () => {
    const { memory, record } = await written();
    const inData = 3 * MiB + 5 * RECORD_PIECE_BYTES + 1234;
    await poke(memory, inData);
    await poke(memory, 15 * MiB + 4321, 1);
    await poke(memory, 15 * MiB + 4325, 1);
    const result = await verifyWrittenRanges(record, memory);
    const pieceStart = 3 * MiB + 5 * RECORD_PIECE_BYTES;
    expect(result.mismatches).toEqual([
      { start: pieceStart, end: pieceStart + RECORD_PIECE_BYTES, expected: 'data' },
      { start: 15 * MiB + 4321, end: 15 * MiB + 4326, expected: 'zeros' },
    ]);
    const error = readBackError(result, '/dev/test');
    expect(error?.code).toBe('invalid-media');
    expect(error?.message).toContain(`2 ranges (${RECORD_PIECE_BYTES + 5} bytes)`);
    expect(error?.message).toContain(`the first at bytes ${pieceStart}-${pieceStart + RECORD_PIECE_BYTES - 1}`);
    expect(error?.location).toBe(`/dev/test, bytes ${pieceStart}-${pieceStart + RECORD_PIECE_BYTES - 1}`);
  });

  it('checks the MBR too: a changed byte 0 is found', async () => {
    const { memory, record } = await written();
    await poke(memory, 0);
    const result = await verifyWrittenRanges(record, memory);
    expect(result.mismatches).toEqual([{ start: 0, end: 512, expected: 'data' }]);
  });

  it('merges adjacent mismatching pieces', async () => {
    const { memory, record } = await written();
    for (let position = 2 * MiB; position < 2 * MiB + 3 * RECORD_PIECE_BYTES; position += RECORD_PIECE_BYTES) {
      await poke(memory, position + 7);
    }
    const result = await verifyWrittenRanges(record, memory);
    expect(result.mismatches).toEqual([{ start: 2 * MiB, end: 2 * MiB + 3 * RECORD_PIECE_BYTES, expected: 'data' }]);
  });

  it('stops when cancelled', async () => {
    const { memory, record } = await written();
    const controller = new AbortController();
    controller.abort();
    await expect(verifyWrittenRanges(record, memory, undefined, { signal: controller.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
  });

  it('says so when the device ends before a recorded range does', async () => {
    const { memory, record } = await written();
    const shorter = {
      size: 4 * MiB,
      read: (buffer: Buffer, position: number) =>
        position >= 4 * MiB ? Promise.resolve(0) : memory.read(buffer, position),
    };
    await expect(verifyWrittenRanges(record, shorter)).rejects.toThrow(/ended at byte 4194304/);
  });
});
