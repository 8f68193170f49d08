import { z } from 'zod';

/**
 * A drive as the services see it and as it crosses the IPC boundary (the worker sends it to the
 * app). Strings that come from the device (model, labels, serial, mount paths named after labels)
 * are kept as read, for identity checks; shown to a person they go through `driveText`
 * (shared/rules/drive-safety.ts).
 */

/** Strings from a device are short; a longer one is not a drive we should trust to show. */
const deviceString = z.string().max(4096);

/**
 * A partition, or the drive itself when it holds a file system without a partition table (a
 * "superfloppy", as many USB sticks are): then `device` is the drive's own path.
 */
export const drivePartitionSchema = z.object({
  device: deviceString,
  label: deviceString.nullable(),
  /** The file system type as the OS names it (`vfat`, `ext4`, `swap`), or null when none is known. */
  filesystem: deviceString.nullable(),
  size: z.number().int().nonnegative(),
  /** Where it is mounted, including where devices stacked on it (LVM, LUKS) are mounted. */
  mountpoints: z.array(deviceString),
  /** In use as swap. */
  swap: z.boolean(),
  /** Devices stacked on it (device-mapper for LVM or LUKS, software RAID). */
  holders: z.array(deviceString),
});
export type DrivePartition = z.infer<typeof drivePartitionSchema>;

/** `disk`: a drive the OS lists; `loop`: a loop device, named explicitly; `memory`: zram or a RAM disk. */
export const driveKinds = ['disk', 'loop', 'memory'] as const;
export type DriveKind = (typeof driveKinds)[number];

export const driveSchema = z.object({
  /** The whole block device, e.g. `/dev/sdb`, `/dev/mmcblk0`, `/dev/loop3`. */
  device: deviceString,
  kind: z.enum(driveKinds),
  /** The model, or the OS's description of the drive. */
  description: deviceString,
  size: z.number().int().nonnegative(),
  /** Logical block size: the unit of every read and write with direct I/O. */
  blockSize: z.number().int().positive(),
  /** `USB`, `SATA`, `NVME`, `MMC`, `VIRTIO`, `LOOP`, ... or `UNKNOWN`. */
  bus: deviceString,
  removable: z.boolean(),
  /** An SD or MMC card. */
  card: z.boolean(),
  usb: z.boolean(),
  readOnly: z.boolean(),
  virtual: z.boolean(),
  /** A system drive in the OS's own view (drivelist's `isSystem`); on Linux: not removable and not virtual. */
  system: z.boolean(),
  serial: deviceString.nullable(),
  /** Partitions, or the drive itself when it holds a file system directly (see drivePartitionSchema). */
  partitions: z.array(drivePartitionSchema),
  /** Swap files in use that live on this drive. */
  swapFiles: z.array(deviceString),
  /** A loop device's backing file. */
  backingFile: deviceString.nullable(),
});
export type Drive = z.infer<typeof driveSchema>;

/**
 * Which drives hold a path (the boot media, the download cache, the output image). `drives`
 * lists whole drives, the nearest first: a file in a file system on a loop device is held by the
 * loop device and by the drive that holds the loop device's backing file.
 */
export const pathLocationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('drives'), path: z.string(), drives: z.array(z.string()).min(1) }),
  /** In memory or on the network: on no drive (tmpfs, NFS). */
  z.object({ kind: z.literal('none'), path: z.string(), filesystem: z.string() }),
  /** Could not be told (an overlay file system, an unusual device): not refused, but said. */
  z.object({ kind: z.literal('unknown'), path: z.string(), reason: z.string() }),
]);
export type PathLocation = z.infer<typeof pathLocationSchema>;

/** What the files a write depends on are. */
export const heldPathRoles = ['source', 'cache', 'output'] as const;
export type HeldPathRole = (typeof heldPathRoles)[number];

export const heldPathSchema = z.object({ role: z.enum(heldPathRoles), location: pathLocationSchema });
export type HeldPath = z.infer<typeof heldPathSchema>;

/** What a drive is judged against. */
export const driveContextSchema = z.object({
  /** The size of the card to write, when known. */
  neededBytes: z.number().int().positive().optional(),
  /** Where the source media, the cache and the output are. */
  held: z.array(heldPathSchema).optional(),
});
export type DriveContext = z.infer<typeof driveContextSchema>;

/**
 * `hide`: a system drive, listed only on request and never written; `refuse`: listed, never
 * written; `confirm`: written after an extra confirmation; `note`: worth saying, changes nothing.
 */
export const reasonEffects = ['hide', 'refuse', 'confirm', 'note'] as const;
export type ReasonEffect = (typeof reasonEffects)[number];

export const driveReasonCodes = [
  'system-mount',
  'swap',
  'fixed-drive',
  'system-reported',
  'memory',
  'read-only',
  'no-medium',
  'too-small',
  'holds-source',
  'holds-cache',
  'holds-output',
  'in-use',
  'large',
  'location-unknown',
  'mounted',
] as const;
export type DriveReasonCode = (typeof driveReasonCodes)[number];

export const driveReasonSchema = z.object({
  code: z.enum(driveReasonCodes),
  effect: z.enum(reasonEffects),
  /** A plain sentence, device strings already sanitised. */
  message: z.string(),
});
export type DriveReason = z.infer<typeof driveReasonSchema>;

/** `ok`: may be written; `warning`: needs an extra confirmation; `refused` and `hidden`: never written. */
export const driveStatuses = ['ok', 'warning', 'refused', 'hidden'] as const;
export type DriveStatus = (typeof driveStatuses)[number];

export const driveClassificationSchema = z.object({
  status: z.enum(driveStatuses),
  reasons: z.array(driveReasonSchema),
});
export type DriveClassification = z.infer<typeof driveClassificationSchema>;

/** A drive with its verdict, as listed and as sent over IPC. */
export const classifiedDriveSchema = driveSchema.extend(driveClassificationSchema.shape);
export type ClassifiedDrive = z.infer<typeof classifiedDriveSchema>;
