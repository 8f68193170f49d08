import { z } from 'zod';
import { errorCodes } from '../errors.js';
import { buildSummarySchema } from '../model/build-image.js';
import { fetchedReleaseSchema, releaseQuerySchema, releaseSchema } from '../model/releases.js';
import { architectures } from '../model/targets.js';
import { deviceIdentitySchema } from '../model/device-identity.js';
import { classifiedDriveSchema } from '../model/drive.js';
import { eraseSummarySchema } from '../model/erase.js';
import {
  buildRequestSchema,
  eraseRequestSchema,
  packagesRequestSchema,
  packagesSummarySchema,
  verifyRequestSchema,
} from '../model/requests.js';
import { verifyReportSchema } from '../model/verify-report.js';
import { progressEventSchema } from '../model/progress-schema.js';
import { tryAvailabilitySchema, tryCheckSchema, tryOutcomeSchema, tryRequestSchema } from '../model/try.js';

/**
 * Every command the renderer may send and every event it may receive, each defined once.
 * Types for the client and for the handler table are derived from here.
 */
export const contract = {
  commands: {
    'app.info': {
      input: z.object({}),
      output: z.object({
        name: z.string(),
        version: z.string(),
        platform: z.string(),
        /**
         * How reading and writing drives gets its rights: the process has them already, the
         * system will ask for an administrator password the first time, or it cannot (detail
         * says why and what to do).
         */
        deviceAccess: z.object({
          mode: z.enum(['privileged', 'prompt', 'unavailable']),
          detail: z.string().nullable(),
        }),
      }),
    },
    /** Definitions opened or saved in the app lately, newest first (kept by the app, not the CLI). */
    'recent.list': {
      input: z.object({}),
      output: z.object({
        definitions: z.array(z.object({ path: z.string(), hostname: z.string().nullable(), usedAt: z.string() })),
      }),
    },
    /**
     * The app's settings (kept by the app, not the CLI): package-repository signing keys (PEM
     * files chosen with the Open dialog) trusted besides Alpine's for offline packages and card
     * checks, as `--apk-key` does.
     */
    'settings.get': {
      input: z.object({}),
      output: z.object({ apkKeys: z.array(z.string()) }),
    },
    'settings.set': {
      input: z.object({ apkKeys: z.array(z.string().min(1)) }),
      output: z.object({ apkKeys: z.array(z.string()) }),
    },
    /** What a file is, by its content: a machine definition, an apkovl or boot media. */
    'file.kind': {
      input: z.object({ path: z.string().min(1) }),
      output: z.object({ kind: z.enum(['yaml', 'gzip', 'iso9660', 'other']) }),
    },
    /** The definition templates (Pi kiosk, Pi headless, x86 server), as `apkovl init` writes them. */
    'templates.list': {
      input: z.object({}),
      output: z.object({
        templates: z.array(
          z.object({
            name: z.string(),
            description: z.string(),
            definition: z.string(),
            secrets: z.string().nullable(),
          }),
        ),
      }),
    },
    /** A definition file's text (and where its secrets file would be), to open it in the app. */
    'definition.read': {
      input: z.object({ path: z.string().min(1) }),
      output: z.object({ path: z.string(), yaml: z.string(), secretsPath: z.string().nullable() }),
    },
    /** The releases of a branch and architecture, as the mirror's index lists them. */
    'release.list': {
      input: z.object({ arch: z.enum(architectures), branch: z.string().optional(), mirror: z.string().optional() }),
      output: z.object({ url: z.string(), releases: z.array(releaseSchema) }),
    },
    /** Whether the boot media a query names are verified in the cache already (no network). */
    'release.status': {
      input: releaseQuerySchema,
      output: z.object({ cached: fetchedReleaseSchema.nullable() }),
    },
    /** Fetch and verify boot media into the cache, with progress. */
    'release.fetch': {
      input: z.object({ jobId: z.string().min(1), query: releaseQuerySchema }),
      output: fetchedReleaseSchema,
    },
    /** Every drive with its status and reasons (hidden ones too: the app decides what to show). */
    'drives.list': {
      /** loopDevices: also list loop devices attached to a file (Linux), as `apkovl drives --loop`. */
      input: z.object({ loopDevices: z.boolean().default(false) }),
      output: z.object({ drives: z.array(classifiedDriveSchema) }),
    },
    /** A drive named to be written: as classified now, and its identity, which the user confirms. */
    'drive.describe': {
      input: z.object({ device: z.string().min(1) }),
      output: z.object({ drive: classifiedDriveSchema, identity: deviceIdentitySchema }),
    },
    /** A drive back to one empty FAT32 partition over all of it. */
    'card.erase': {
      input: z.object({ jobId: z.string().min(1), request: eraseRequestSchema }),
      output: eraseSummarySchema,
    },
    /** Write a card: an image file or a device (plan, write, read back). */
    'card.build': {
      input: z.object({ jobId: z.string().min(1), request: buildRequestSchema }),
      output: buildSummarySchema,
    },
    /**
     * alpine.offline: the definition's packages resolved against its repositories' signed
     * indexes, with count and size (a missing package or a conflict is an error naming it);
     * with `fetch`, every package downloaded and checked into the download cache as well.
     */
    'packages.resolve': {
      input: z.object({ jobId: z.string().min(1), request: packagesRequestSchema }),
      output: packagesSummarySchema,
    },
    /** Whether QEMU (and its firmware) is here to try a machine, and what to install if not. */
    'machine.try-check': { input: tryCheckSchema, output: tryAvailabilitySchema },
    /**
     * Try a machine in QEMU until its window is closed or the job is cancelled: a card image
     * (snapshot mode) or a definition (netbooted through a built-in apkovl server).
     */
    'machine.try': {
      input: z.object({ jobId: z.string().min(1), request: tryRequestSchema }),
      output: tryOutcomeSchema,
    },
    /** Examine a card or card image: the report says what is fine, what is wrong, what to do. */
    'card.verify': {
      input: z.object({ jobId: z.string().min(1), request: verifyRequestSchema }),
      output: verifyReportSchema,
    },
    /**
     * Save a definition and its secrets file beside it. keepSecretsFrom: the secrets file the
     * definition was opened with, whose entries are kept (the app never reads them).
     */
    'definition.save': {
      input: z.object({
        path: z.string().min(1),
        yaml: z.string().min(1),
        secrets: z.record(z.string(), z.string()),
        keepSecretsFrom: z.string().min(1).optional(),
      }),
      output: z.object({ path: z.string(), secretsPath: z.string().nullable(), warnings: z.array(z.string()) }),
    },
    'job.cancel': {
      input: z.object({ jobId: z.string().min(1) }),
      output: z.object({ cancelled: z.boolean() }),
    },
    'dialog.open-file': {
      input: z.object({
        title: z.string(),
        filters: z.array(z.object({ name: z.string(), extensions: z.array(z.string()) })),
      }),
      output: z.object({ path: z.string().nullable() }),
    },
    'dialog.save-file': {
      input: z.object({ title: z.string(), defaultName: z.string() }),
      output: z.object({ path: z.string().nullable() }),
    },
  },
  events: {
    'job.progress': z.object({ jobId: z.string(), progress: progressEventSchema }),
    /** Something a person should see while a job runs: a retry, a wait for another process. */
    'job.note': z.object({ jobId: z.string(), text: z.string() }),
  },
} as const;

type Commands = typeof contract.commands;
type Events = typeof contract.events;
export type CommandName = keyof Commands;
export type EventName = keyof Events;
export type CommandInput<C extends CommandName> = z.input<Commands[C]['input']>;
/** A command's input as its handler gets it: validated, with every default applied. */
export type CommandParsedInput<C extends CommandName> = z.output<Commands[C]['input']>;
export type CommandOutput<C extends CommandName> = z.output<Commands[C]['output']>;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

/** Codes an IPC error can carry: the app's error codes plus the protocol's own. */
export const ipcErrorCodes = [...errorCodes, 'unknown-command', 'invalid-request'] as const;
export type IpcErrorCode = (typeof ipcErrorCodes)[number];

export const envelopeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.enum(ipcErrorCodes),
      message: z.string(),
      location: z.string().nullable(),
      hint: z.string().nullable(),
    }),
  }),
]);
export type Envelope = z.infer<typeof envelopeSchema>;

export interface IpcEvent<E extends EventName = EventName> {
  name: E;
  payload: EventPayload<E>;
}

/** How the renderer reaches the main process: a preload in Electron, an init script in tests. */
export interface Transport {
  invoke(command: string, input: unknown): Promise<unknown>;
  subscribe(listener: (event: { name: string; payload: unknown }) => void): () => void;
}
