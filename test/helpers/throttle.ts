import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A block device as slow as an SD card, for the processes put in a cgroup v1 blkio group
 * (field-notes.md): `blkio.throttle.write_bps_device` and `read_bps_device` on the device's
 * major:minor. Only direct I/O is throttled (buffered writes are flushed by kernel threads
 * outside the group), which is what the device writer uses.
 */
const BLKIO = '/sys/fs/cgroup/blkio';

export interface Throttle {
  /** The command, started inside the group: `sh -c 'echo $$ > .../cgroup.procs; exec "$@"'`. */
  wrap(command: string[]): string[];
  remove(): void;
}

/** Why a device cannot be throttled here, or null. */
export function throttleUnavailable(): string | null {
  if (!existsSync(path.join(BLKIO, 'blkio.throttle.write_bps_device')))
    return 'cgroup v1 blkio throttling is not available on this kernel';
  return null;
}

export function throttle(device: string, rates: { writeBytesPerSecond: number; readBytesPerSecond: number }): Throttle {
  const reason = throttleUnavailable();
  if (reason !== null) throw new Error(reason);
  const number = readFileSync(path.join('/sys/block', path.basename(device), 'dev'), 'utf8').trim();
  const group = path.join(BLKIO, `apkovl-test-${process.pid}-${path.basename(device)}`);
  mkdirSync(group, { recursive: true });
  writeFileSync(path.join(group, 'blkio.throttle.write_bps_device'), `${number} ${rates.writeBytesPerSecond}`);
  writeFileSync(path.join(group, 'blkio.throttle.read_bps_device'), `${number} ${rates.readBytesPerSecond}`);
  return {
    wrap: (command) => ['sh', '-c', `echo $$ > ${group}/cgroup.procs && exec "$@"`, 'throttled', ...command],
    remove() {
      // The group can go once its processes have: they moved out by exiting.
      for (let attempt = 0; attempt < 50; attempt += 1) {
        try {
          rmdirSync(group);
          return;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    },
  };
}
