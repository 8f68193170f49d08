import { z } from 'zod';
import { deviceIdentitySchema } from './device-identity.js';
import { architectures, boards } from './targets.js';

/**
 * Each operation's request, defined once: the CLI's flags, the IPC contract and the services all
 * parse into these. Every choice is a tagged union (`kind`), so no front end guesses a file's
 * type from its name: what a source or media file really is gets decided by content, in one
 * place (main/services/files/file-kind.ts).
 */

const filePath = (what: string) => z.string().trim().min(1, `choose ${what}`);

/** What goes on the card as the apkovl: generated from a machine definition, or an apkovl as it is. */
export const sourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('definition'),
    file: filePath('a machine definition (.yml)'),
    secretsFile: z.string().trim().min(1).optional(),
  }),
  z.strictObject({ kind: z.literal('apkovl'), file: filePath('an apkovl (.apkovl.tar.gz)') }),
]);
export type Source = z.infer<typeof sourceSchema>;

/** Which release to fetch when the source does not say (an apkovl names no board). */
export const releaseWantedSchema = z.strictObject({
  board: z.enum(boards),
  arch: z.enum(architectures),
  branch: z.string().optional(),
  version: z.string().optional(),
  flavor: z.string().optional(),
});
export type ReleaseWanted = z.infer<typeof releaseWantedSchema>;

/** Alpine's boot media: a file at hand, or the verified release fetched into the cache. */
export const mediaSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), path: filePath('the Alpine boot media (.tar.gz or .iso)') }),
  z.strictObject({
    kind: z.literal('fetch'),
    /** Mirrors tried in order; default: the definition's mirror. */
    mirrors: z.array(z.string().min(1)).default([]),
    trustedKeyFile: z.string().min(1).optional(),
    cacheDir: z.string().min(1).optional(),
    offline: z.boolean().default(false),
    /** Needed with an apkovl source; a definition's target and release are used otherwise. */
    release: releaseWantedSchema.optional(),
  }),
]);
export type Media = z.infer<typeof mediaSchema>;

/** Where the card goes: an image file, or a device (SD card, USB stick) written directly. */
export const destinationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('image'), path: filePath('where to save the image') }),
  z.strictObject({
    kind: z.literal('device'),
    path: filePath('a drive'),
    /** The device as the user was shown it and agreed to erase it: checked again before writing. */
    confirmed: deviceIdentitySchema,
    /** The user confirmed a drive larger than 128 GB in the extra step. */
    largeDriveConfirmed: z.boolean().default(false),
  }),
]);
export type Destination = z.infer<typeof destinationSchema>;

/** Card settings the command line (or the app) sets over the definition's. */
export const cardSettingsSchema = z.strictObject({
  /** Size of the FAT32 partition; default: the definition's, else 512 MiB for an image, the whole device for a drive. */
  partitionBytes: z.number().int().positive().optional(),
  volumeLabel: z.string().optional(),
  /** A file whose content becomes usercfg.txt. */
  usercfgFile: z.string().min(1).optional(),
  cmdlineAppend: z.array(z.string()).default([]),
  /**
   * x86 sticks: boot PCs with BIOS and UEFI (the ISO in partition 1, FAT32 beside it), or UEFI
   * only (one FAT32 partition). Default: the definition's board (x86_64: bios-uefi), else uefi.
   */
  firmware: z.enum(['bios-uefi', 'uefi']).optional(),
  seed: z.string().optional(),
});
export type CardSettings = z.infer<typeof cardSettingsSchema>;

export const buildRequestSchema = z.strictObject({
  source: sourceSchema,
  media: mediaSchema,
  destination: destinationSchema,
  card: cardSettingsSchema.prefault({}),
  /**
   * Read every written range back and compare it with what was meant to be written. A device is
   * always read back (uncached); an image file only when this is true (through the page cache:
   * it checks the writer, not a medium).
   */
  verify: z.boolean().default(false),
  /** The packages of an offline machine (alpine.offline), for the card's apk cache. */
  packages: z
    .strictObject({
      /** Extra trusted apk signing keys (RSA public keys, PEM files), e.g. a private repository's. */
      apkKeys: z.array(z.string().trim().min(1)).default([]),
      /** Use only the indexes and packages the download cache holds. */
      offline: z.boolean().default(false),
      /**
       * Mirrors for boot media given as a file: where a BIOS+UEFI stick's syslinux package is
       * fetched when the ISO lacks it (default: the definition's mirror, else Alpine's CDN).
       */
      mirrors: z.array(z.string().trim().min(1)).default([]),
      cacheDir: z.string().min(1).optional(),
    })
    .optional(),
});
export type BuildRequest = z.infer<typeof buildRequestSchema>;
export type BuildRequestInput = z.input<typeof buildRequestSchema>;

/** A card to examine: a drive or an image file. */
export const mediumSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('image'), path: filePath('an image file') }),
  z.strictObject({ kind: z.literal('device'), path: filePath('a drive') }),
]);
export type Medium = z.infer<typeof mediumSchema>;

export const verifyRequestSchema = z.strictObject({
  medium: mediumSchema,
  /** Compare the apkovl with what this definition produces. */
  machine: z.strictObject({ file: z.string().min(1), secretsFile: z.string().min(1).optional() }).optional(),
  /** Compare every boot file with these media (else the cached release, when there is one). */
  bootMedia: z.string().min(1).optional(),
  cacheDir: z.string().min(1).optional(),
  /** More trusted apk signing keys (PEM public key files) for the card's cached indexes (--apk-key). */
  apkKeys: z.array(z.string().min(1)).optional(),
});
export type VerifyRequest = z.infer<typeof verifyRequestSchema>;

export const eraseRequestSchema = z.strictObject({
  device: z.string().min(1),
  confirmed: deviceIdentitySchema,
  largeDriveConfirmed: z.boolean().default(false),
  label: z.string().optional(),
});
export type EraseRequest = z.infer<typeof eraseRequestSchema>;

/**
 * The packages of an offline machine (alpine.offline), resolved against the signed indexes of
 * its repositories: counted before writing, and with `fetch` downloaded and checked into the
 * download cache (the app does this unprivileged, before an elevated drive build reads them
 * from there with `packages.offline`).
 */
export const packagesRequestSchema = z.strictObject({
  definition: z.strictObject({
    file: filePath('a machine definition (.yml)'),
    secretsFile: z.string().trim().min(1).optional(),
  }),
  /** The boot media: their release picks the branch, and the packages their apks/ holds are not fetched. */
  bootMedia: z.string().trim().min(1).optional(),
  /** Download and check every package the card needs, not only the indexes. */
  fetch: z.boolean().default(false),
  /** Extra trusted apk signing keys (PEM public key files). */
  apkKeys: z.array(z.string().trim().min(1)).default([]),
  /** Use only the indexes (and packages) the download cache holds. */
  offline: z.boolean().default(false),
  cacheDir: z.string().min(1).optional(),
});
export type PackagesRequest = z.infer<typeof packagesRequestSchema>;

/** What a packages request found: null counts when the definition does not ask for alpine.offline. */
export const packagesSummarySchema = z.object({
  /** The definition asks for alpine.offline. */
  offline: z.boolean(),
  count: z
    .object({
      /** The repository branch resolved against (e.g. v3.22). */
      branch: z.string(),
      repositories: z.array(z.string()),
      /** Packages the world resolves to (the boot media's among them, when they were given). */
      resolved: z.number(),
      /** Packages for the card's cache/ folder (not on the boot media), and their bytes. */
      packages: z.number(),
      packageBytes: z.number(),
      indexes: z.number(),
      indexBytes: z.number(),
      /** Resolved packages the boot media carry (0 when no boot media were given). */
      onBootMedia: z.number(),
      /** The packages were downloaded (or found) and checked in the cache, not only counted. */
      fetched: z.boolean(),
    })
    .nullable(),
  /** The download cache the indexes and packages are in. */
  cacheDir: z.string(),
});
export type PackagesSummary = z.infer<typeof packagesSummarySchema>;
