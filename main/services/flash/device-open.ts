import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import { identityDifferences, type DeviceIdentity } from '../../../shared/model/device-identity.js';
import { assertLinux, identityOfDeviceNumber, splitDeviceNumber } from './device-identity.js';
import { DirectFile } from './direct-file.js';

/**
 * Opening a block device for direct I/O on Linux, with errors a person can act on, and the check
 * that the device behind an open descriptor is still the one the user confirmed.
 *
 * Writing: O_RDWR | O_EXCL | O_DIRECT. O_EXCL on a block device takes the kernel's exclusive
 * claim: the open fails while a partition is mounted, and nothing can mount one while it is
 * held. O_SYNC is left out: with O_DIRECT every write already waits for the device, and the
 * card writer's flushes (fsync, which also empties the device's write cache) mark the two points
 * where order matters; O_SYNC would add a cache flush to every write. Reading back: O_RDONLY |
 * O_DIRECT on a new descriptor, which reads from the device and never from the page cache.
 */

export type OpenMode = 'write' | 'read';

/** `/dev/sdb1 on /media/card` for every mounted partition of the device. */
async function mountedPartitions(identity: DeviceIdentity): Promise<string[]> {
  const directory = path.join('/sys/block', identity.name);
  const names = new Set([identity.name]);
  for (const entry of await fs.readdir(directory).catch(() => [])) {
    if (await fs.stat(path.join(directory, entry, 'partition')).catch(() => null)) names.add(entry);
  }
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([source]) => source !== undefined && names.has(path.basename(source)) && source.startsWith('/dev/'))
    .map(([source, target]) => `${source} on ${(target ?? '').replace(/\\040/g, ' ')}`);
}

async function openError(identity: DeviceIdentity, mode: OpenMode, error: unknown): Promise<AppError> {
  const code = (error as NodeJS.ErrnoException).code;
  const device = identity.path;
  const options = { location: device, cause: error };
  switch (code) {
    case 'EBUSY': {
      const mounted = await mountedPartitions(identity);
      return new AppError(
        'io',
        `${device} is in use: ${mounted.length > 0 ? `${mounted.join(', ')}` : 'another program holds it'}`,
        {
          ...options,
          hint:
            mounted.length > 0
              ? `unmount it first: ${mounted.map((line) => `umount ${line.split(' ')[0] ?? ''}`).join('; ')}`
              : 'close programs that use it (a file manager, a disk utility, another flashing tool) and try again',
        },
      );
    }
    case 'EACCES':
    case 'EPERM':
      return new AppError('io', `no permission to ${mode} ${device}`, {
        ...options,
        hint: 'writing and verifying a device needs root: run the same command with sudo',
      });
    case 'EROFS':
      return new AppError('io', `${device} is read-only`, {
        ...options,
        hint: "if it is an SD card, slide the lock switch on the card's side up (towards the contacts) and put it back",
      });
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
    case 'ENOMEDIUM':
      return new AppError('not-found', `${device} has no medium: ${(error as Error).message}`, {
        ...options,
        hint: 'the card or stick was removed; put it back and choose it again',
      });
    default:
      return new AppError('io', `cannot open ${device}: ${(error as Error).message}`, options);
  }
}

/**
 * Throw unless the device behind `handle` is `expected`: same device number, size, logical
 * block size, serial and disk sequence number.
 */
export async function checkOpenedIdentity(handle: fs.FileHandle, expected: DeviceIdentity): Promise<void> {
  const stat = await handle.stat({ bigint: true });
  const actual = await identityOfDeviceNumber(expected.path, splitDeviceNumber(stat.rdev));
  const differences = identityDifferences(expected, actual);
  if (differences.length > 0) {
    throw new AppError(
      'invalid-input',
      `${expected.path} is no longer the device that was confirmed (${differences.join('; ')}): the card or stick was swapped or changed`,
      {
        location: expected.path,
        hint: 'nothing was written to it; check which card is in the reader and choose the device again',
      },
    );
  }
}

/** Open the device for direct I/O and check that it is still `identity`. */
export async function openDirect(identity: DeviceIdentity, mode: OpenMode): Promise<DirectFile> {
  assertLinux(identity.path);
  const flags =
    mode === 'write'
      ? constants.O_RDWR | constants.O_EXCL | constants.O_DIRECT
      : constants.O_RDONLY | constants.O_DIRECT;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(identity.path, flags);
  } catch (error) {
    throw await openError(identity, mode, error);
  }
  try {
    await checkOpenedIdentity(handle, identity);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return new DirectFile(handle, identity.path, identity.logicalBlockSize);
}
