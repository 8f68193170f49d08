import type { DeviceIdentity } from '../../../shared/model/device-identity.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import type { BlockTarget } from './block-target.js';
import { probeCapacity, type CapacityProbeResult } from './capacity-probe.js';
import { openDeviceTarget } from './device-target.js';
import { readBackError, verifyWrittenRanges, type ReadBackResult } from './read-back.js';
import { openUncachedReader } from './uncached-reader.js';
import { recordWrites, type WriteRecord } from './write-record.js';

export interface FlashDeviceOptions<T> {
  /** The device as the user confirmed it (readDeviceIdentity at confirmation). */
  identity: DeviceIdentity;
  /** Writes the card on the target, e.g. with writeCard; its result is passed back. */
  write: (target: BlockTarget) => Promise<T>;
  /** Stops the probe, the write or the read-back; the device is then wiped as by a failure. */
  signal?: AbortSignal;
  /** Progress of the read-back ('verify' phase); the write reports its own. */
  onProgress?: ProgressListener;
  /** Told when each phase starts. */
  onPhase?: (phase: 'probe' | 'write' | 'verify') => void;
  /** Check the device's real capacity first (default true). */
  probe?: boolean;
}

export interface FlashDeviceResult<T> {
  written: T;
  /** The probe's findings, or null when it was turned off. */
  probe: CapacityProbeResult | null;
  /** Every range written, with hashes: what was read back. */
  record: WriteRecord;
  readBack: ReadBackResult;
  /** Bytes the device was sent: probe, zeros and data. */
  bytesWritten: number;
}

/**
 * Write a card on a confirmed device, the whole way: open it exclusively (checking it is still
 * the confirmed device), probe its real capacity (after wiping its first MiB), write through a
 * recording wrapper, read every recorded range back through a new uncached descriptor while
 * the exclusive one is still held (nothing can mount the new card and change it meanwhile),
 * and only then close it.
 *
 * Any failure, a cancellation, or a read-back that finds a difference (a ReadBackError that
 * carries every mismatching range) aborts the target: what was written is wiped from the first
 * 2 MiB, so the device never looks like a valid card unless it is one that read back right.
 */
export async function flashDevice<T>(options: FlashDeviceOptions<T>): Promise<FlashDeviceResult<T>> {
  const { identity } = options;
  const target = await openDeviceTarget(identity, options.signal === undefined ? {} : { signal: options.signal });
  try {
    let probe: CapacityProbeResult | null = null;
    if (options.probe ?? true) {
      options.onPhase?.('probe');
      probe = await probeCapacity(target, options.signal === undefined ? {} : { signal: options.signal });
    }
    options.onPhase?.('write');
    const recording = recordWrites(target);
    const written = await options.write(recording);
    options.onPhase?.('verify');
    const reader = await openUncachedReader(identity);
    let readBack: ReadBackResult;
    try {
      readBack = await verifyWrittenRanges(
        recording.record,
        reader,
        options.onProgress,
        options.signal === undefined ? {} : { signal: options.signal },
      );
    } finally {
      await reader.close();
    }
    const mismatch = readBackError(readBack, identity.path);
    if (mismatch !== null) throw mismatch;
    await target.commit();
    return { written, probe, record: recording.record, readBack, bytesWritten: target.bytesWritten };
  } catch (error) {
    await target.abort();
    throw error;
  }
}
