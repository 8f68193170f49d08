/**
 * The capacity probe's arithmetic, without I/O: where the probe blocks go, what each holds, how
 * a block that read back is judged, and what the survivors say about the real size.
 *
 * A fake-capacity card reports more blocks than its flash has. Past the real size its
 * controller either drops writes (reads return zeros, old data or garbage) or wraps the address
 * around (a write to byte X lands at X modulo a power of two, the flash "module", overwriting
 * data at the start of the card). Probes spaced by a factor of √2 from 1 MiB to the end (and
 * three in the last MiB) find the first kind within a factor of √2; the probes at exact powers
 * of two all wrap onto byte 0, which the probe zeroed first and reads back, so the second kind
 * is found whatever the module size, and the blocks that read back another probe's tag give
 * the module size.
 */

export const PROBE_BLOCK_BYTES = 4096;
const MiB = 1024 * 1024;
const MAGIC = Buffer.from('APKOVL-CAPACITY-PROBE\0', 'latin1');
const NONCE_BYTES = 16;
const OFFSET_AT = MAGIC.length + NONCE_BYTES;
const HEADER_BYTES = OFFSET_AT + 8;

/** Where probe blocks go on a device of `size` bytes: √2 steps from 1 MiB, then the last MiB. */
export function planProbeOffsets(size: number): number[] {
  const align = (offset: number): number => Math.floor(offset / PROBE_BLOCK_BYTES) * PROBE_BLOCK_BYTES;
  const offsets = new Set<number>();
  const lastMiB = size - MiB;
  for (let step = 0; ; step += 1) {
    const offset = align(MiB * Math.SQRT2 ** step);
    if (offset + PROBE_BLOCK_BYTES > lastMiB) break;
    offsets.add(offset);
  }
  for (const offset of [lastMiB, size - MiB / 2, size - PROBE_BLOCK_BYTES]) {
    if (offset >= MiB) offsets.add(align(offset));
  }
  return [...offsets].sort((a, b) => a - b);
}

/** The content of the probe block at `offset`: a tag (magic, the run's nonce, the offset) and random bytes. */
export function probeBlock(offset: number, nonce: Buffer, random: Buffer): Buffer {
  const block = Buffer.alloc(PROBE_BLOCK_BYTES);
  MAGIC.copy(block, 0);
  nonce.copy(block, MAGIC.length, 0, NONCE_BYTES);
  block.writeBigUInt64LE(BigInt(offset), OFFSET_AT);
  random.copy(block, HEADER_BYTES, 0, PROBE_BLOCK_BYTES - HEADER_BYTES);
  return block;
}

export const PROBE_NONCE_BYTES = NONCE_BYTES;
export const PROBE_RANDOM_BYTES = PROBE_BLOCK_BYTES - HEADER_BYTES;

export type ProbeState =
  /** Read back exactly as written. */
  | 'kept'
  /** Read back another probe's block: the two offsets are the same place in the flash. */
  | 'wrapped'
  /** Read back anything else: zeros, old data, garbage. */
  | 'lost'
  /** The device failed the write or the read with an I/O error. */
  | 'failed';

export interface ProbeOutcome {
  offset: number;
  state: ProbeState;
  /** For 'wrapped': the offset whose block was read back instead. */
  holds?: number;
}

/** The offset in the tag of a probe block of this run found in `block`, or null. */
export function probeTagIn(block: Buffer, nonce: Buffer): number | null {
  const tagged =
    block.subarray(0, MAGIC.length).equals(MAGIC) &&
    block.subarray(MAGIC.length, OFFSET_AT).equals(nonce.subarray(0, NONCE_BYTES));
  return tagged ? Number(block.readBigUInt64LE(OFFSET_AT)) : null;
}

/** Judge the block read back at `offset`. */
export function judgeProbe(offset: number, expected: Buffer, actual: Buffer, nonce: Buffer): ProbeOutcome {
  if (actual.equals(expected)) return { offset, state: 'kept' };
  const holds = probeTagIn(actual, nonce);
  return holds !== null && holds !== offset ? { offset, state: 'wrapped', holds } : { offset, state: 'lost' };
}

export interface CapacityEstimate {
  /** Bytes the card really stores: the estimate given to the user. */
  usableBytes: number;
  /** The lowest offset found not to keep data. */
  firstFailure: number;
  /** The wrap-around period when blocks read back other probes' tags, else null. */
  wrapBytes: number | null;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * What the outcomes say about the real size, or null when every probe kept its block (and byte
 * 0 still reads zero: `zeroHolds` is the tag found there, if any). Usable bytes are estimated
 * as the end of the last probe below the first failure, or as the wrap period when blocks that
 * read back other probes' tags give one consistent with that.
 */
export function estimateCapacity(outcomes: readonly ProbeOutcome[], zeroHolds: number | null): CapacityEstimate | null {
  const sorted = [...outcomes].sort((a, b) => a.offset - b.offset);
  const failure = sorted.find((outcome) => outcome.state !== 'kept');
  // The block at byte 0 holding a probe means that probe's offset wrapped onto 0.
  const firstFailure = Math.min(failure?.offset ?? Infinity, zeroHolds ?? Infinity);
  if (firstFailure === Infinity) return null;
  const kept = sorted.filter((outcome) => outcome.state === 'kept' && outcome.offset < firstFailure).at(-1);
  const usable = kept === undefined ? 0 : kept.offset + PROBE_BLOCK_BYTES;
  const distances = sorted
    .filter((outcome) => outcome.state === 'wrapped' && outcome.holds !== undefined)
    .map((outcome) => Math.abs(outcome.offset - (outcome.holds ?? 0)));
  if (zeroHolds !== null) distances.push(zeroHolds);
  const period = distances.filter((distance) => distance > 0).reduce((a, b) => gcd(a, b), 0);
  const wrapBytes = period > 0 ? period : null;
  const usableBytes = wrapBytes !== null && wrapBytes >= usable && wrapBytes <= firstFailure ? wrapBytes : usable;
  return { usableBytes, firstFailure, wrapBytes };
}
