import { z } from 'zod';

/** What `apkovl erase` made of a drive: one empty FAT32 partition over all of it. */
export const eraseSummarySchema = z.object({
  device: z.string(),
  deviceBytes: z.number(),
  partition: z.object({ startLba: z.number(), sectors: z.number(), bytes: z.number(), type: z.number() }),
  filesystem: z.object({
    type: z.literal('FAT32'),
    label: z.string(),
    volumeId: z.string(),
    clusterSize: z.number(),
    clusters: z.number(),
    freeBytes: z.number(),
  }),
  bytesWritten: z.number(),
  verification: z.object({ bytes: z.number(), ranges: z.number() }),
  warnings: z.array(z.string()),
  seconds: z.number(),
});
export type EraseSummary = z.infer<typeof eraseSummarySchema>;
