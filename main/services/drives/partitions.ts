import type { DrivePartition } from '../../../shared/model/drive.js';
import type { BlockNode } from './lsblk.js';
import type { Mount } from './mount-table.js';
import { probeFilesystem } from './filesystem-probe.js';

/** What else is known about swap and mounts, beyond lsblk's own view. */
export interface VolumeFacts {
  /** Swap devices in use (from /proc/swaps), as paths. */
  swapDevices: ReadonlySet<string>;
  mounts: readonly Mount[];
}

const SWAP_MARK = '[SWAP]';

/** Every node stacked on `node` (LVM volumes, LUKS mappings, RAID arrays), depth first. */
function stackedOn(node: BlockNode): BlockNode[] {
  return node.children.flatMap((child) => [child, ...stackedOn(child)]);
}

async function volume(node: BlockNode, stacked: BlockNode[], facts: VolumeFacts): Promise<DrivePartition> {
  const all = [node, ...stacked];
  // The mount table too: an old lsblk shows one mountpoint per device, and bind mounts count.
  const paths = new Set(all.map(({ path }) => path));
  const mountpoints = [
    ...new Set([
      ...all.flatMap(({ mountpoints }) => mountpoints).filter((mountpoint) => mountpoint !== SWAP_MARK),
      ...facts.mounts.filter(({ source }) => paths.has(source)).map(({ mountpoint }) => mountpoint),
    ]),
  ];
  const swap = all.some(
    ({ mountpoints, path, name }) =>
      mountpoints.includes(SWAP_MARK) || facts.swapDevices.has(path) || facts.swapDevices.has(`/dev/${name}`),
  );
  let { filesystem, label } = node;
  if (filesystem === null) {
    // Without udev lsblk knows no file system: read it from the superblock (blkid, read-only),
    // or take the mount table's word for a mounted one that may not be opened.
    ({ filesystem, label } = await probeFilesystem(node.path));
    filesystem ??= facts.mounts.find(({ source }) => source === node.path)?.filesystem ?? (swap ? 'swap' : null);
  }
  return {
    device: node.path,
    label,
    filesystem,
    size: node.size,
    mountpoints,
    swap,
    holders: node.children.map(({ path }) => path),
  };
}

/**
 * A drive's partitions, each with the mounts and holders of what is stacked on it. A drive that
 * holds a file system (or swap, or a LUKS or LVM device) without a partition table is listed as
 * its own single entry.
 */
export async function partitionsOf(drive: BlockNode, facts: VolumeFacts): Promise<DrivePartition[]> {
  const partitions = drive.children.filter(({ type }) => type === 'part');
  const onDrive = drive.children.filter(({ type }) => type !== 'part');
  const found = await Promise.all(partitions.map((partition) => volume(partition, stackedOn(partition), facts)));
  const usedWhole =
    drive.filesystem !== null ||
    drive.mountpoints.length > 0 ||
    onDrive.length > 0 ||
    facts.swapDevices.has(drive.path) ||
    facts.mounts.some(({ source }) => source === drive.path);
  if (partitions.length > 0 && !usedWhole) return found;
  const itself = await volume(
    { ...drive, children: onDrive },
    onDrive.flatMap((child) => [child, ...stackedOn(child)]),
    facts,
  );
  // A blank drive (no partition table, no file system) has no entry at all.
  const blank =
    itself.filesystem === null && itself.mountpoints.length === 0 && !itself.swap && itself.holders.length === 0;
  return blank ? found : [itself, ...found];
}
