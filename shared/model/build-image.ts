import { z } from 'zod';

/** The one partition a card has, and its FAT32 file system: for a build and an erase alike. */
export const cardPartitionSchema = z.object({
  startLba: z.number(),
  sectors: z.number(),
  bytes: z.number(),
  type: z.number(),
  /** Flagged active: the FAT32 partition of a card; the ISO, not the FAT32, on a BIOS+UEFI stick. */
  bootable: z.boolean(),
});

export const cardFilesystemSchema = z.object({
  type: z.literal('FAT32'),
  label: z.string(),
  volumeId: z.string(),
  clusterSize: z.number(),
  clusters: z.number(),
  freeBytes: z.number(),
});

export type CardPartition = z.infer<typeof cardPartitionSchema>;
export type CardFilesystem = z.infer<typeof cardFilesystemSchema>;

/** What a build made: the same for an image file and a device, the CLI and the app. */
export const buildSummarySchema = z.object({
  destination: z.object({ kind: z.enum(['image', 'device']), path: z.string() }),
  /** The image file or device written (the destination's path). */
  output: z.string(),
  imageBytes: z.number(),
  /** Which firmware boots it: the Raspberry Pi's, a PC's UEFI, a PC's BIOS (legacy). */
  firmware: z.array(z.enum(['rpi', 'uefi', 'bios'])).default([]),
  /** The FAT32 partition (the only one, except on a BIOS+UEFI stick). */
  partition: cardPartitionSchema,
  /** A BIOS+UEFI stick's partition 1: the ISO, unchanged but for its boot sector and kernel parameters. */
  isoPartition: z
    .object({
      startLba: z.number(),
      sectors: z.number(),
      bytes: z.number(),
      type: z.number(),
      volumeId: z.string(),
      /** Files of the ISO given the machine's kernel parameters. */
      edited: z.array(z.string()),
    })
    .nullable()
    .default(null),
  /** Where a BIOS+UEFI stick's boot code (mbr.bin, isohdppx.bin) came from. */
  bootCode: z.object({ package: z.string(), source: z.string() }).nullable().default(null),
  filesystem: cardFilesystemSchema.extend({
    usedBytes: z.number(),
    /** What the FAT32 metadata (reserved sectors, both FATs) takes of the partition. */
    metadataBytes: z.number(),
  }),
  files: z.number(),
  directories: z.number(),
  fileBytes: z.number(),
  alpineRelease: z.string().nullable(),
  /** The boot media; `verified` when they came through the verified download cache. */
  bootMedia: z.object({ path: z.string(), sha256: z.string().nullable(), verified: z.boolean() }),
  dropped: z.array(z.string()),
  injected: z.array(z.string()),
  overlay: z.object({ fileName: z.string(), hostname: z.string().nullable(), sha256: z.string() }).nullable(),
  /** The manifest on the card: its name and how many files it lists. */
  manifest: z.object({ path: z.string(), files: z.number() }),
  /** Bytes that reached the target (data and metadata). */
  bytesWritten: z.number(),
  /** The read-back of everything written, when it was done. */
  verification: z
    .object({ ranges: z.number(), bytes: z.number(), seconds: z.number(), uncached: z.boolean() })
    .nullable(),
  warnings: z.array(z.string()),
  seconds: z.number(),
  /** The card's apk cache of an offline machine (alpine.offline); null otherwise. */
  offlinePackages: z
    .object({
      /** Packages the world resolves to, with those on the boot media. */
      resolved: z.number(),
      /** Packages copied into cache/, and their bytes. */
      packages: z.number(),
      packageBytes: z.number(),
      /** Signed indexes copied into cache/. */
      indexes: z.number(),
      indexBytes: z.number(),
      /** Resolved packages not copied because the boot media's apks/ has them. */
      onBootMedia: z.number(),
    })
    .nullable()
    .default(null),
});
export type BuildSummary = z.infer<typeof buildSummarySchema>;
