import { randomBytes } from 'node:crypto';
import { AppError } from '../../../shared/errors.js';
import type { EraseSummary } from '../../../shared/model/erase.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import type { EraseRequest } from '../../../shared/model/requests.js';
import { flashDevice } from '../flash/flash-device.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { writeCard } from '../image/card-writer.js';
import { encodeVolumeLabel } from '../image/fat32-boot-sector.js';
import { MIN_FAT32_SECTORS } from '../image/fat32-geometry.js';
import { confirmedIdentity, describeCard } from './card-summary.js';
import type { DriveGuard } from './run-build.js';
import { DEFAULT_ERASE_LABEL } from './erase-defaults.js';

async function* nothing(): AsyncGenerator<never> {}

/**
 * A stick or card back to what a shop sells: an MBR with one FAT32 partition over the whole
 * device (up to the 2 TiB an MBR can address), empty, with a label. The same rules and the same
 * careful writer as a card: confirmed identity, drive rules, unmounting, probe, stale
 * signatures wiped, MBR last, read back.
 */
export async function eraseDevice(
  request: EraseRequest,
  options: {
    drives: DriveGuard;
    now: () => number;
    signal?: AbortSignal;
    onProgress?: ProgressListener;
  },
): Promise<EraseSummary> {
  const started = options.now();
  const label = request.label ?? DEFAULT_ERASE_LABEL;
  try {
    encodeVolumeLabel(label);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError('usage', error.message, { location: '--label', ...(error.hint ? { hint: error.hint } : {}) });
  }
  const identity = await confirmedIdentity(request.device, request.confirmed);
  await options.drives.check(request.device, {
    neededBytes: MIN_FAT32_SECTORS * SECTOR_SIZE,
    sources: [],
    largeDriveConfirmed: request.largeDriveConfirmed,
  });
  const unmounted = await options.drives.unmount(request.device);
  const serial = randomBytes(8);
  const flashed = await flashDevice({
    identity,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    onPhase: (phase) =>
      options.onProgress?.({
        phase,
        label: { probe: 'Checking the real capacity', write: 'Writing the empty file system', verify: 'Reading back' }[
          phase
        ],
        bytes: 0,
        total: null,
        bytesPerSecond: null,
        etaSeconds: null,
      }),
    write: (target) =>
      writeCard({
        target,
        entries: nothing(),
        volumeLabel: label,
        defaultMtime: Math.floor(Date.now() / 1000),
        identity: () => ({ volumeId: serial.readUInt32LE(0), diskSignature: serial.readUInt32LE(4) }),
      }),
  });
  await options.drives.reread(request.device).catch(() => undefined);
  const { partition, filesystem } = describeCard(flashed.written, label);
  return {
    device: request.device,
    deviceBytes: identity.size,
    partition,
    filesystem,
    bytesWritten: flashed.bytesWritten,
    verification: { bytes: flashed.readBack.bytes, ranges: flashed.record.ranges().length },
    warnings: unmounted.length > 0 ? [`unmounted before writing: ${unmounted.join(', ')}`] : [],
    seconds: (options.now() - started) / 1000,
  };
}
