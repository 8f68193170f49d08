import type { Drive as ListedDrive } from 'drivelist';
import type { Drive } from '../../../shared/model/drive.js';
import { locatePath } from './locate-path.js';
import { type BlockNode, readBlockNodes } from './lsblk.js';
import { readMounts } from './mount-table.js';
import { partitionsOf, type VolumeFacts } from './partitions.js';
import { readSwaps } from './swap-table.js';

/** zram and RAM disks: memory, not drives (drivelist lists zram). */
const MEMORY_DEVICE = /^\/dev\/(zram|ram)\d+$/;

/** drivelist says UNKNOWN where lsblk has no transport (virtio, and often MMC and NVMe). */
function busOf(listed: ListedDrive, node: BlockNode | undefined): string {
  const transport = node?.transport?.toUpperCase();
  if (transport) return transport;
  if (listed.busType && listed.busType !== 'UNKNOWN') return listed.busType.toUpperCase();
  const name = listed.device.replace(/^\/dev\//, '');
  if (/^vd[a-z]+$/.test(name)) return 'VIRTIO';
  if (/^mmcblk\d+$/.test(name)) return 'MMC';
  if (/^nvme\d+n\d+$/.test(name)) return 'NVME';
  return 'UNKNOWN';
}

/**
 * One drive from drivelist (every platform), completed on Linux by lsblk's view of it. Where
 * lsblk is missing (macOS, Windows) partitions are known only by their mountpoints.
 */
export async function normaliseDrive(
  listed: ListedDrive,
  node: BlockNode | undefined,
  facts: VolumeFacts,
): Promise<Drive> {
  const bus = busOf(listed, node);
  const card = listed.isCard === true || bus === 'MMC';
  const usb = listed.isUSB === true || bus === 'USB';
  const partitions =
    node !== undefined
      ? await partitionsOf(node, facts)
      : listed.mountpoints.map((mountpoint) => ({
          device: listed.device,
          label: mountpoint.label,
          filesystem: null,
          size: 0,
          mountpoints: [mountpoint.path],
          swap: false,
          holders: [],
        }));
  // Raspberry Pi Imager's rule: removable flag, hot-pluggable, USB or a card (built-in SD
  // readers often report neither removable nor hot-pluggable).
  const removable = node !== undefined ? node.removable || node.hotplug || usb || card : listed.isRemovable;
  const virtual = listed.isVirtual === true;
  return {
    device: listed.device,
    kind: MEMORY_DEVICE.test(listed.device) ? 'memory' : 'disk',
    description: node?.model ?? listed.description.trim(),
    size: listed.size ?? node?.size ?? 0,
    blockSize: listed.logicalBlockSize || node?.blockSize || 512,
    bus,
    removable,
    card,
    usb,
    readOnly: listed.isReadOnly || node?.readOnly === true,
    virtual,
    // On Linux drivelist derives isSystem from lsblk's removable flag alone, which would hide
    // built-in SD card readers: there the wider rule above decides. Elsewhere it is the OS's word.
    system: node !== undefined ? !removable && !virtual : listed.isSystem,
    serial: node?.serial ?? null,
    partitions,
    swapFiles: [],
    backingFile: null,
  };
}

/** What /proc/swaps and the mount table add to lsblk's view. */
export async function readVolumeFacts(): Promise<VolumeFacts & { swapFiles: string[] }> {
  const [swaps, mounts] = await Promise.all([readSwaps(), readMounts().catch(() => [])]);
  return {
    swapDevices: new Set(swaps.filter(({ type }) => type === 'partition').map(({ path }) => path)),
    swapFiles: swaps.filter(({ type }) => type === 'file').map(({ path }) => path),
    mounts,
  };
}

/** Give each drive the swap files that live on it. */
export async function addSwapFiles(drives: Drive[], swapFiles: string[]): Promise<void> {
  for (const file of swapFiles) {
    const location = await locatePath(file);
    if (location.kind !== 'drives') continue;
    for (const drive of drives) if (location.drives.includes(drive.device)) drive.swapFiles.push(file);
  }
}

/** Every drive the OS lists (loop devices are not among them), unclassified. */
export async function readDrives(): Promise<Drive[]> {
  const drivelist = await import('drivelist');
  const [listed, facts, nodes] = await Promise.all([
    drivelist.list(),
    readVolumeFacts(),
    process.platform === 'linux' ? readBlockNodes() : [],
  ]);
  const drives = await Promise.all(
    listed.map((drive) =>
      normaliseDrive(
        drive,
        nodes.find(({ path }) => path === drive.device),
        facts,
      ),
    ),
  );
  await addSwapFiles(drives, facts.swapFiles);
  return drives;
}
