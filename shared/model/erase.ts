import { z } from 'zod';
import { cardFilesystemSchema, cardPartitionSchema } from './build-image.js';

/** What `apkovl erase` made of a drive: one empty FAT32 partition over all of it. */
export const eraseSummarySchema = z.object({
  device: z.string(),
  deviceBytes: z.number(),
  partition: cardPartitionSchema,
  filesystem: cardFilesystemSchema,
  bytesWritten: z.number(),
  verification: z.object({ bytes: z.number(), ranges: z.number() }),
  warnings: z.array(z.string()),
  seconds: z.number(),
});
export type EraseSummary = z.infer<typeof eraseSummarySchema>;
