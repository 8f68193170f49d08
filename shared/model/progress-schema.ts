import { z } from 'zod';
import { progressPhases } from './progress.js';

export const progressEventSchema = z.object({
  phase: z.enum(progressPhases),
  label: z.string(),
  bytes: z.number(),
  total: z.number().nullable(),
  bytesPerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
});
