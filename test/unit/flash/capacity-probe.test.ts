import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { probeCapacity } from '../../../main/services/flash/capacity-probe.js';
import { estimateCapacity, planProbeOffsets, PROBE_BLOCK_BYTES } from '../../../main/services/flash/probe-plan.js';
import { droppingTarget, wrappingTarget } from '../../helpers/fake-capacity.js';
import { MemoryTarget } from '../../helpers/memory-target.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('where the capacity probe looks', () => {
  it('puts ~2 blocks per doubling from 1 MiB, and 3 in the last MiB, all aligned and inside', () => {
    const size = 64e9;
    const offsets = planProbeOffsets(size);
    expect(offsets.length).toBe(35);
    expect(offsets[0]).toBe(MiB);
    expect(offsets).toContain(8 * GiB);
    expect(offsets.slice(-3)).toEqual([size - MiB, size - MiB / 2, size - PROBE_BLOCK_BYTES]);
    expect(offsets.every((offset) => offset % PROBE_BLOCK_BYTES === 0 && offset + PROBE_BLOCK_BYTES <= size)).toBe(
      true,
    );
    for (let index = 1; index < offsets.length - 3; index += 1) {
      expect((offsets[index] as number) / (offsets[index - 1] as number)).toBeCloseTo(Math.SQRT2, 2);
    }
  });

  it('keeps small devices to a handful of blocks', () => {
    expect(planProbeOffsets(4 * MiB)).toEqual([
      MiB,
      1448 * 1024,
      2 * MiB,
      2896 * 1024,
      3 * MiB,
      3.5 * MiB,
      4 * MiB - 4096,
    ]);
  });
});

describe('estimating the real size', () => {
  it('is the end of the last block kept below the first failure, without a wrap period', () => {
    const outcomes = [
      { offset: MiB, state: 'kept' as const },
      { offset: 2 * MiB, state: 'kept' as const },
      { offset: 4 * MiB, state: 'lost' as const },
      { offset: 8 * MiB, state: 'kept' as const },
    ];
    expect(estimateCapacity(outcomes, null)).toEqual({
      usableBytes: 2 * MiB + 4096,
      firstFailure: 4 * MiB,
      wrapBytes: null,
    });
    expect(estimateCapacity(outcomes.slice(0, 2), null)).toBeNull();
  });

  it('is the wrap period when blocks read back other blocks, consistent with the survivors', () => {
    const outcomes = [
      { offset: 4 * GiB, state: 'kept' as const },
      { offset: 8 * GiB, state: 'wrapped' as const, holds: 32 * GiB },
      { offset: 16 * GiB, state: 'wrapped' as const, holds: 32 * GiB },
      { offset: 32 * GiB, state: 'kept' as const },
    ];
    expect(estimateCapacity(outcomes, 32 * GiB)).toEqual({
      usableBytes: 8 * GiB,
      firstFailure: 8 * GiB,
      wrapBytes: 8 * GiB,
    });
  });
});

describe('the capacity probe', () => {
  it('passes an honest 64 GB device, leaving its first MiB zeroed, in 35 blocks', async () => {
    const device = new MemoryTarget(64e9);
    await device.write(Buffer.alloc(512, 0x55), 0);
    const result = await probeCapacity(device);
    expect(result.outcomes).toHaveLength(35);
    expect(result.outcomes.every((outcome) => outcome.state === 'kept')).toBe(true);
    const first = Buffer.alloc(MiB, 1);
    await device.read(first, 0);
    expect(first.equals(Buffer.alloc(MiB))).toBe(true);
    // The wipe, then one block per probe.
    expect(device.bytes).toBe(512 + MiB + 35 * PROBE_BLOCK_BYTES);
  });

  it('refuses a "64 GB" card that wraps around every 8 GiB, saying how much it really holds', async () => {
    const error = await refusal(probeCapacity(wrappingTarget(new MemoryTarget(8 * GiB, '/dev/sdx'), 64e9)));
    expect(error.code).toBe('invalid-media');
    expect(error.message).toContain('claims 64.0 GB but only about 8.6 GB can be stored on it');
    expect(error.message).toContain('fake-capacity');
    expect(error.message).toContain('lands again at the start of the card (every 8.6 GB)');
    expect(error.location).toBe(`/dev/sdx (claiming 64000000000 bytes), bytes ${8 * GiB}-${8 * GiB + 4095}`);
    expect(error.hint).toMatch(/return it to the seller/);
  });

  it('refuses a card that drops what is written past its real size, estimating it within a factor of √2', async () => {
    const real = 5 * GiB;
    const error = await refusal(probeCapacity(droppingTarget(new MemoryTarget(real), 32e9)));
    const about = /only about ([\d.]+) GB/.exec(error.message);
    const estimate = Number(about?.[1]) * 1e9;
    expect(estimate).toBeLessThanOrEqual(real);
    expect(estimate).toBeGreaterThan(real / Math.SQRT2);
    expect(error.message).toContain('is lost');
  });

  it('refuses a device that keeps nothing at all, without calling it fake', async () => {
    const error = await refusal(probeCapacity(droppingTarget(new MemoryTarget(512 * 1024), 1e9)));
    expect(error.message).toMatch(/does not keep what is written to it/);
    expect(error.message).not.toMatch(/fake/);
  });

  it('writes new blocks every run: a card that ignores writes past its real size but returns older data is refused', async () => {
    const device = new MemoryTarget(128 * MiB);
    await probeCapacity(device);
    // From now on writes past 64 MiB are ignored; reads there return what the first run left.
    const frozen = {
      ...device,
      description: device.description,
      size: device.size,
      allocate: (size: number) => device.allocate(size),
      read: (buffer: Buffer, position: number) => device.read(buffer, position),
      zero: (position: number, length: number) => device.zero(position, length),
      flush: () => device.flush(),
      commit: () => device.commit(),
      abort: () => device.abort(),
      write: (buffer: Buffer, position: number) =>
        position >= 64 * MiB ? Promise.resolve() : device.write(buffer, position),
    };
    const error = await refusal(probeCapacity(frozen));
    // The last block kept is at 45.25 MiB, the next one (64 MiB) is past the real size.
    expect(error.message).toContain('only about 47.5 MB');
  });
});
