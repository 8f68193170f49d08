import { randomBytes } from 'node:crypto';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { BlockTarget } from './block-target.js';
import { byteRange } from './direct-file.js';
import {
  estimateCapacity,
  judgeProbe,
  planProbeOffsets,
  probeBlock,
  probeTagIn,
  PROBE_BLOCK_BYTES,
  PROBE_NONCE_BYTES,
  PROBE_RANDOM_BYTES,
  type CapacityEstimate,
  type ProbeOutcome,
} from './probe-plan.js';

export interface CapacityProbeOptions {
  signal?: AbortSignal;
  /** Random bytes; injected by tests. */
  random?: (bytes: number) => Buffer;
}

export interface CapacityProbeResult {
  claimedBytes: number;
  /** One per probe block, in device order. */
  outcomes: ProbeOutcome[];
}

/** What the first MiB is wiped to before probing, so that a failure leaves no valid-looking card. */
export const PROBE_WIPE_BYTES = 1024 * 1024;

const GONE = new Set(['ENODEV', 'ENXIO', 'ENOMEDIUM', 'EBADF']);

/** `64.0 GB`: decimal units, as card makers count. */
function formatCardSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

/** A device I/O error that only this block had (not a device that went away): the probe's finding. */
function isBlockFailure(error: unknown): boolean {
  if (!(error instanceof AppError) || error.code !== 'io') return false;
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined || !GONE.has(code);
}

function refusal(target: BlockTarget, estimate: CapacityEstimate): AppError {
  const claimed = formatCardSize(target.size);
  const location = byteRange(target.description, estimate.firstFailure, PROBE_BLOCK_BYTES);
  if (estimate.usableBytes === 0) {
    return new AppError(
      'invalid-media',
      `${target.description} does not keep what is written to it: the test block at byte ${estimate.firstFailure} did not read back as written`,
      { location, hint: 'the card or stick is faulty (or its reader is): use another one' },
    );
  }
  const usable = formatCardSize(estimate.usableBytes);
  const past =
    estimate.wrapBytes === null
      ? 'is lost'
      : `lands again at the start of the card (every ${formatCardSize(estimate.wrapBytes)}), over what is there`;
  return new AppError(
    'invalid-media',
    `${target.description} claims ${claimed} but only about ${usable} can be stored on it: it is a fake-capacity card or stick, whose controller reports more space than its memory has. Data written past about ${usable} ${past}`,
    {
      location,
      hint: 'do not use it for anything that matters, and return it to the seller; a genuine card of any size works',
    },
  );
}

/**
 * Check that the device stores data across the whole size it reports, before a card is written
 * on it. Order: the first MiB is zeroed and flushed (from then on the device no longer looks
 * like a card, whatever happens next); one 4 KiB block, tagged with its offset and this run's
 * nonce, is written at each of ~2 offsets per doubling from 1 MiB to the end plus 3 in the last
 * MiB (35 blocks on a 64 GB card); a flush; then every block and the zeroed block at byte 0 are
 * read back through the target (uncached on a device target). Throws an 'invalid-media' error
 * that says in plain words how much the device really stores when it does not keep them;
 * returns the outcomes otherwise. The probe blocks stay behind as free-space junk: the card
 * writer overwrites or ignores them.
 */
export async function probeCapacity(
  target: BlockTarget,
  options: CapacityProbeOptions = {},
): Promise<CapacityProbeResult> {
  const random = options.random ?? randomBytes;
  const checkSignal = (): void => {
    if (options.signal?.aborted) throw new CancelledError();
  };
  await target.zero(0, Math.min(PROBE_WIPE_BYTES, target.size));
  await target.flush();

  const nonce = random(PROBE_NONCE_BYTES);
  const offsets = planProbeOffsets(target.size);
  const blocks = offsets.map((offset) => probeBlock(offset, nonce, random(PROBE_RANDOM_BYTES)));
  const buffer = target.allocate(PROBE_BLOCK_BYTES);
  const failed = new Map<number, unknown>();
  for (const [index, offset] of offsets.entries()) {
    checkSignal();
    (blocks[index] as Buffer).copy(buffer);
    try {
      await target.write(buffer, offset);
    } catch (error) {
      if (!isBlockFailure(error)) throw error;
      failed.set(offset, error);
    }
  }
  await target.flush();

  const read = async (offset: number): Promise<Buffer | null> => {
    try {
      const count = await target.read(buffer, offset);
      return count === PROBE_BLOCK_BYTES ? Buffer.from(buffer) : null;
    } catch (error) {
      if (!isBlockFailure(error)) throw error;
      failed.set(offset, error);
      return null;
    }
  };
  const outcomes: ProbeOutcome[] = [];
  for (const [index, offset] of offsets.entries()) {
    checkSignal();
    const actual = failed.has(offset) ? null : await read(offset);
    outcomes.push(
      actual === null ? { offset, state: 'failed' } : judgeProbe(offset, blocks[index] as Buffer, actual, nonce),
    );
  }
  if (outcomes.length > 0 && outcomes.every((outcome) => outcome.state === 'failed')) {
    throw failed.values().next().value as Error;
  }

  const first = await read(0);
  const zeroHolds = first === null ? null : probeTagIn(first, nonce);
  // Byte 0 neither zero nor a probe: the device did not even keep the zeros written there.
  if (first === null || (zeroHolds === null && first.some((byte) => byte !== 0))) {
    throw refusal(target, { usableBytes: 0, firstFailure: 0, wrapBytes: null });
  }
  const estimate = estimateCapacity(outcomes, zeroHolds);
  if (estimate !== null) throw refusal(target, estimate);
  return { claimedBytes: target.size, outcomes };
}
