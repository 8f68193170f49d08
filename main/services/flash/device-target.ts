import { AppError, CancelledError } from '../../../shared/errors.js';
import type { DeviceIdentity } from '../../../shared/model/device-identity.js';
import { allocateAligned } from './aligned-memory.js';
import type { BlockTarget } from './block-target.js';
import { checkOpenedIdentity, openDirect } from './device-open.js';
import { byteRange, type DirectFile } from './direct-file.js';
import { RangeSet } from './range-set.js';

/** A card or stick written in place, exclusively and with direct I/O. */
export interface DeviceTarget extends BlockTarget {
  /** The device as the user confirmed it. */
  readonly identity: DeviceIdentity;
  /**
   * Bytes sent to the device so far, zeros included. A range zeroed earlier in this session and
   * not written since is not zeroed again (the capacity probe and the card writer both wipe the
   * first MiB; it is written once).
   */
  readonly bytesWritten: number;
}

export interface OpenDeviceTargetOptions {
  /** Stops the write: every later write or zero fails with a CancelledError. */
  signal?: AbortSignal;
  /**
   * The smallest unit the caller writes: a card's 512-byte sectors. A device whose logical
   * block is larger cannot take such writes and is refused before anything is written.
   */
  sectorSize?: number;
}

/**
 * What abort() zeroes when anything was written: the MBR, a GPT, any whole-device filesystem
 * signature, and the first MiB of the partition at 1 MiB where every card of this tool has its
 * FAT32 boot sectors. Without them no system sees a partition table or a volume.
 */
export const ABORT_WIPE_BYTES = 2 * 1024 * 1024;

const ZERO_CHUNK = 1024 * 1024;

class BlockDeviceTarget implements DeviceTarget {
  readonly description: string;
  readonly size: number;
  private identityCheck: Promise<void> | null = null;
  private written = false;
  private closed = false;
  private zeros: Buffer | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Ranges zeroed in this session and not written since: they read as zero already. */
  private readonly zeroed = new RangeSet();
  private sent = 0;

  constructor(
    readonly identity: DeviceIdentity,
    private readonly file: DirectFile,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.description = identity.path;
    this.size = identity.size;
  }

  get bytesWritten(): number {
    return this.sent;
  }

  allocate(size: number): Buffer {
    return allocateAligned(size);
  }

  write(buffer: Buffer, position: number): Promise<void> {
    return this.track(
      this.beforeWrite(position, buffer.length).then(() => {
        this.zeroed.remove(position, position + buffer.length);
        return this.send(buffer, position);
      }),
    );
  }

  zero(position: number, length: number): Promise<void> {
    return this.track(this.beforeWrite(position, length).then(() => this.writeZeros(position, length)));
  }

  read(buffer: Buffer, position: number): Promise<number> {
    this.checkOpen('read');
    return this.track(this.file.read(buffer, position));
  }

  async flush(): Promise<void> {
    this.checkOpen('flush');
    try {
      await this.file.handle.sync();
    } catch (error) {
      throw new AppError('io', `cannot flush ${this.description}: ${(error as Error).message}`, {
        location: this.description,
        hint: 'the card or stick may have been removed or be failing; try again, then try another card',
        cause: error,
      });
    }
  }

  async commit(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.file.handle.close();
  }

  /**
   * Waits for writes still under way (so that none lands after the wipe), zeroes the first
   * ABORT_WIPE_BYTES if anything was written, flushes and closes. A device that was never
   * written is left as it was. A wipe that fails (the card was pulled out) is not reported: the
   * caller is already handling the error that made it abort.
   */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    if (this.written) {
      try {
        await this.writeZeros(0, Math.min(ABORT_WIPE_BYTES, this.size));
        await this.file.handle.sync();
      } catch {
        // Reported by the caller's own error; see above.
      }
    }
    await this.file.handle.close().catch(() => undefined);
  }

  private async beforeWrite(position: number, length: number): Promise<void> {
    this.checkOpen('write');
    if (this.signal?.aborted) throw new CancelledError();
    if (position < 0 || length < 0 || position + length > this.size) {
      throw new AppError(
        'internal',
        `write of ${length} bytes at byte ${position} is outside ${this.description} (${this.size} bytes)`,
        { location: byteRange(this.description, position, length) },
      );
    }
    // Right before the first write, and once: is the device still the one the user confirmed?
    this.identityCheck ??= checkOpenedIdentity(this.file.handle, this.identity);
    await this.identityCheck;
    // abort() may have begun while the check ran: then nothing more may reach the device.
    this.checkOpen('write');
    this.written = true;
  }

  private async writeZeros(position: number, length: number): Promise<void> {
    const misalignment =
      position % this.file.blockSize !== 0 || length % this.file.blockSize !== 0
        ? `zeroing ${length} bytes at byte ${position} is not aligned to ${this.file.blockSize}-byte blocks`
        : null;
    if (misalignment !== null) {
      throw new AppError('internal', `${misalignment} on ${this.description}`, {
        location: byteRange(this.description, position, length),
      });
    }
    this.zeros ??= allocateAligned(ZERO_CHUNK);
    for (const part of this.zeroed.missing(position, position + length)) {
      for (let at = part.start; at < part.end; at += ZERO_CHUNK) {
        await this.send(this.zeros.subarray(0, Math.min(ZERO_CHUNK, part.end - at)), at);
      }
    }
    this.zeroed.add(position, position + length);
  }

  private async send(buffer: Buffer, position: number): Promise<void> {
    this.sent += buffer.length;
    await this.file.write(buffer, position);
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.inFlight.add(operation);
    const forget = (): void => {
      this.inFlight.delete(operation);
    };
    operation.then(forget, forget);
    return operation;
  }

  private checkOpen(operation: string): void {
    if (this.closed) throw new AppError('internal', `${operation} on ${this.description} after it was closed`);
  }
}

/**
 * Open a confirmed card or stick for writing: exclusively (the kernel refuses while a partition
 * is mounted, and nothing mounts one until it is closed) and with direct I/O. The device is
 * checked against `identity` when it is opened and again right before the first write.
 *
 * Partitions are not unmounted here: the caller unmounts the device's own partitions first
 * (etcher-sdk's unmount matches mount sources by prefix, so asking it for /dev/loop1 also
 * unmounts /dev/loop10).
 */
export async function openDeviceTarget(
  identity: DeviceIdentity,
  options: OpenDeviceTargetOptions = {},
): Promise<DeviceTarget> {
  const sectorSize = options.sectorSize ?? 512;
  if (identity.logicalBlockSize > sectorSize || sectorSize % identity.logicalBlockSize !== 0) {
    throw new AppError(
      'invalid-input',
      `${identity.path} has ${identity.logicalBlockSize}-byte blocks; a card is written in ${sectorSize}-byte sectors, which it cannot address`,
      { location: identity.path, hint: 'use another card or stick' },
    );
  }
  if (identity.readOnly) {
    throw new AppError('io', `${identity.path} is read-only`, {
      location: identity.path,
      hint: "if it is an SD card, slide the lock switch on the card's side up (towards the contacts) and put it back",
    });
  }
  const file = await openDirect(identity, 'write');
  return new BlockDeviceTarget(identity, file, options.signal);
}
