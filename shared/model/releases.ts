import { z } from 'zod';
import { architectures, boards } from './targets.js';

/** A release of Alpine's boot media as the release index lists it. */
export const releaseSchema = z.object({
  branch: z.string(),
  arch: z.string(),
  version: z.string(),
  flavor: z.string(),
  file: z.string(),
  date: z.string().nullable(),
  size: z.number(),
  sha256: z.string(),
});

/** Which boot media: the board and architecture, and a release (a branch's newest, or exact). */
export const releaseQuerySchema = z.strictObject({
  board: z.enum(boards),
  arch: z.enum(architectures),
  branch: z.string().optional(),
  version: z.string().optional(),
  flavor: z.string().optional(),
  mirrors: z.array(z.string().min(1)).default([]),
  cacheDir: z.string().min(1).optional(),
});
export type ReleaseQuery = z.infer<typeof releaseQuerySchema>;

/** Boot media verified and in the cache. */
export const fetchedReleaseSchema = z.object({
  path: z.string(),
  fileName: z.string(),
  version: z.string(),
  branch: z.string(),
  sha256: z.string(),
  size: z.number(),
  signedBy: z.string(),
  fromCache: z.boolean(),
});
