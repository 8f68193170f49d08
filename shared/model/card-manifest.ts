import { z } from 'zod';

/**
 * The manifest at the root of every card this tool writes: every file with its size and
 * SHA-256, and where the card came from. With it, any card can be checked with nothing else at
 * hand (`apkovl verify`). It holds no secrets: the apkovl appears only as a hash.
 */
export const CARD_MANIFEST_NAME = 'apkovl-studio.json';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestFileSchema = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha256,
  /** Unix seconds, as stored in the FAT entry (2-second resolution). */
  mtime: z.number(),
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

export const cardManifestSchema = z.object({
  format: z.literal('apkovl-studio-card'),
  version: z.literal(1),
  tool: z.object({ name: z.string(), version: z.string() }),
  /** The card's content time (the media's newest timestamp or SOURCE_DATE_EPOCH), not the wall clock. */
  created: z.string(),
  /** `.alpine-release` of the boot media. */
  alpineRelease: z.string().nullable(),
  bootMedia: z.object({ file: z.string(), sha256: sha256.nullable() }),
  /** The machine definition the apkovl was generated from (its file's hash), or null for a given apkovl. */
  definition: z.object({ file: z.string(), sha256 }).nullable(),
  apkovl: manifestFileSchema.nullable(),
  /** Every file on the card but the manifest itself, link copies included. */
  files: z.array(manifestFileSchema),
  /** Links in the media: the card holds a copy of the data of the file each resolves to. */
  links: z.array(z.object({ path: z.string(), target: z.string() })),
  volume: z.object({ label: z.string().nullable(), serial: z.string() }),
});
export type CardManifest = z.infer<typeof cardManifestSchema>;
