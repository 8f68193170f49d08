import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { Drive } from '../../../shared/model/drive.js';
import { readBlockNodes } from './lsblk.js';
import { partitionsOf } from './partitions.js';
import { addSwapFiles, readVolumeFacts } from './read-drives.js';
import { loopBackingFile, readSysfs } from './sysfs.js';

/**
 * A loop device named explicitly (drivelist does not list them): size, read-only flag and block
 * size from sysfs, the backing file from sysfs too (what `losetup --json` reads), and the
 * partitions (`/dev/loopNp1` after `partx -a`) from lsblk.
 */
export async function describeLoop(folder: string): Promise<Drive> {
  const device = `/dev/${path.basename(folder)}`;
  const backingFile = await loopBackingFile(folder);
  if (backingFile === null)
    throw new AppError('invalid-input', `${device} is a loop device that is not attached to a file`, {
      location: device,
      hint: 'attach an image file first: losetup -f --show card.img prints the device it used',
    });
  const [sectors, readOnly, blockSize] = await Promise.all(
    ['size', 'ro', 'queue/logical_block_size'].map((file) => readSysfs(path.join(folder, file))),
  );
  const [facts, nodes] = await Promise.all([readVolumeFacts(), readBlockNodes([device])]);
  const node = nodes.find((found) => found.path === device);
  const drive: Drive = {
    device,
    kind: 'loop',
    description: `Loop device of ${path.basename(backingFile)}`,
    size: Number(sectors ?? 0) * 512,
    blockSize: Number(blockSize ?? 512) || 512,
    bus: 'LOOP',
    removable: false,
    card: false,
    usb: false,
    readOnly: readOnly === '1',
    virtual: true,
    system: false,
    serial: null,
    partitions: node === undefined ? [] : await partitionsOf(node, facts),
    swapFiles: [],
    backingFile,
  };
  await addSwapFiles([drive], facts.swapFiles);
  return drive;
}
