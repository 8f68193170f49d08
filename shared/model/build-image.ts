import { z } from 'zod';

/** What the app asks for when it builds a card image (the CLI's `build` options). */
export const buildImageRequestSchema = z.object({
  /** Optional with a definition: then the media its release calls for are fetched. */
  bootMedia: z.string().min(1).optional(),
  /** An apkovl (*.apkovl.tar.gz) or a machine definition (*.yml), told apart by the name. */
  machine: z.string().min(1, 'choose a machine definition (.yml) or an apkovl (.apkovl.tar.gz)'),
  secrets: z.string().min(1).optional(),
  output: z.string().min(1, 'choose where to save the image'),
  partitionBytes: z.number().int().positive().optional(),
  volumeLabel: z.string().optional(),
  cmdlineAppend: z.array(z.string()).optional(),
  seed: z.string().optional(),
});
export type BuildImageRequest = z.infer<typeof buildImageRequestSchema>;

export const buildSummarySchema = z.object({
  output: z.string(),
  imageBytes: z.number(),
  partition: z.object({
    startLba: z.number(),
    sectors: z.number(),
    bytes: z.number(),
    type: z.number(),
    bootable: z.literal(true),
  }),
  filesystem: z.object({
    type: z.literal('FAT32'),
    label: z.string(),
    volumeId: z.string(),
    clusterSize: z.number(),
    clusters: z.number(),
    usedBytes: z.number(),
    freeBytes: z.number(),
  }),
  files: z.number(),
  directories: z.number(),
  fileBytes: z.number(),
  alpineRelease: z.string().nullable(),
  dropped: z.array(z.string()),
  injected: z.array(z.string()),
  overlay: z.object({ fileName: z.string(), hostname: z.string().nullable(), sha256: z.string() }).nullable(),
  warnings: z.array(z.string()),
  seconds: z.number(),
});
export type BuildSummary = z.infer<typeof buildSummarySchema>;
