import path from 'node:path';
import { AppError } from '../../shared/errors.js';
import { contract, type CommandName, type CommandOutput, type CommandParsedInput } from '../../shared/ipc/contract.js';
import type { HandlerContext, Handlers } from '../../shared/ipc/router.js';
import type { FileDialogs } from '../services/ipc-handlers.js';
import { secretsPathFor } from '../services/machine/save-definition.js';
import type { RecentStore } from './recent-store.js';
import type { SettingsStore } from './settings-store.js';
import { readFile } from 'node:fs/promises';
import { assertReadable, errorFrom, hostnameOf, touchesDevice } from './request-rules.js';
import { startWorker, type DescribeExit, type WorkerClient, type WorkerEvent } from './worker-client.js';
import type { WorkerCommand } from './worker-command.js';

type DeviceAccess = CommandOutput<'app.info'>['deviceAccess'];

/** A worker command that prepared something to remove once its worker is gone (elevation). */
type PreparedCommand = WorkerCommand & { cleanup?: () => Promise<void> };

export interface AppHandlersOptions {
  app: { name: string; version: string; platform: string };
  /** How device reads and writes get their rights (app.info says the same to the renderer). */
  deviceAccess: DeviceAccess;
  dialogs: FileDialogs;
  recent: RecentStore;
  /** The app's settings (trusted package-repository keys); none kept without it. */
  settings?: SettingsStore;
  /** The unprivileged worker, started on the first request that needs one (again if it died). */
  worker: () => WorkerCommand | Promise<WorkerCommand>;
  /**
   * The elevated worker, asked for on the first device command when deviceAccess.mode is
   * 'prompt' (one prompt per session; the worker is kept until shutdown). A `cleanup()` on the
   * result is called when that worker has ended.
   */
  elevated?: () => Promise<WorkerCommand>;
  /** Why the unprivileged worker ended before it answered. */
  describeExit?: DescribeExit;
  /** Why the elevated worker ended before it answered (a dismissed prompt, no polkit agent...). */
  describeElevatedExit?: DescribeExit;
  /** Give up on an elevated worker (its prompt) that answers nothing for this long. */
  elevatedStartTimeout?: { ms: number; error: () => AppError };
  /** Folders the renderer may name as a download cache (tests); any other cacheDir is refused. */
  allowedCacheDirs?: string[];
  /** The workers' stderr and other diagnostics, for the app's log. */
  log?: (text: string) => void;
}

export interface AppHandlers {
  /** The handler table for createRouter. */
  handlers: Handlers;
  /** Close every worker (their jobs are cancelled and clean up); for app quit. Never rejects. */
  shutdown: (options?: { timeoutMs?: number }) => Promise<void>;
}

interface Slot {
  label: string;
  command: () => Promise<PreparedCommand>;
  describeExit: DescribeExit | undefined;
  startTimeout: AppHandlersOptions['elevatedStartTimeout'];
  client: WorkerClient | null;
  starting: Promise<WorkerClient> | null;
}

interface Job {
  client: WorkerClient;
  context: HandlerContext;
}

const SAVE_DIALOG_HINT = 'choose the file with the Save dialog (dialog.save-file), then send the path it gave';

/**
 * The Electron main process's handler table: app.info, the dialogs and recent.list are answered
 * here; everything else goes to `apkovl worker` processes (main/cli/worker.ts) over stdio, so no
 * job runs in the main process. Device commands go to an elevated worker (unless the app has
 * the rights already). Output paths must come from a dialog this process opened. Electron-free.
 */
export function createAppHandlers(options: AppHandlersOptions): AppHandlers {
  const log = options.log ?? (() => undefined);
  const jobs = new Map<string, Job>();
  /** Paths the Save dialog gave: the renderer may write there. */
  const saveApproved = new Set<string>();
  /** Paths opened with the Open dialog or listed as recent: they may become definitions. */
  const opened = new Set<string>();
  /** Definitions read from an opened path or saved: the renderer may save over them. */
  const definitions = new Set<string>();
  const cacheDirs = new Set((options.allowedCacheDirs ?? []).map((dir) => path.resolve(dir)));
  /**
   * Download caches the unprivileged worker filled with an offline machine's packages
   * (packages.resolve): a build may read them, never download into them (offline only), so that
   * an elevated worker takes what the person's own worker fetched and writes nothing there.
   */
  const packageCaches = new Set<string>();
  let closing = false;

  const slots = {
    worker: {
      label: 'worker',
      command: async () => await options.worker(),
      describeExit: options.describeExit,
      startTimeout: undefined,
      client: null,
      starting: null,
    } as Slot,
    elevated: {
      label: 'elevated worker',
      command: async () => {
        if (options.elevated === undefined)
          throw new AppError('io', 'this app was started without a way to ask for administrator rights', {
            hint: 'start the app as an administrator, or write the card with sudo apkovl build --device',
          });
        return await options.elevated();
      },
      describeExit: options.describeElevatedExit ?? options.describeExit,
      startTimeout: options.elevatedStartTimeout,
      client: null,
      starting: null,
    } as Slot,
  };

  /** A worker's event, to the context of the request that started its job (and nowhere else). */
  function relay(client: WorkerClient, event: WorkerEvent): void {
    if (!Object.hasOwn(contract.events, event.name)) return;
    const name = event.name as keyof typeof contract.events;
    const parsed = contract.events[name].safeParse(event.payload);
    if (!parsed.success) {
      log(`[app] dropped a malformed ${name} event from a worker\n`);
      return;
    }
    const job = jobs.get(parsed.data.jobId);
    if (job === undefined || job.client !== client) return;
    job.context.emit(name, parsed.data);
  }

  async function obtain(slot: Slot): Promise<WorkerClient> {
    if (closing) throw new AppError('cancelled', 'the app is quitting');
    if (slot.client?.usable) return slot.client;
    slot.starting ??= (async () => {
      const command = await slot.command();
      if (closing) throw new AppError('cancelled', 'the app is quitting');
      const client: WorkerClient = startWorker({
        command,
        onEvent: (event) => relay(client, event),
        onStderr: (text) => log(`[${slot.label}] ${text}`),
        ...(slot.describeExit !== undefined ? { describeExit: slot.describeExit } : {}),
        ...(slot.startTimeout !== undefined ? { startTimeout: slot.startTimeout } : {}),
        onExit: (exit) => {
          log(`[${slot.label}] ended (${exit.signal ?? `status ${String(exit.code)}`})\n`);
          command.cleanup?.().catch((error: unknown) => log(`[${slot.label}] cleanup failed: ${String(error)}\n`));
        },
      });
      slot.client = client;
      return client;
    })().finally(() => (slot.starting = null));
    return slot.starting;
  }

  function slotFor(command: CommandName, input: unknown): Slot {
    if (!touchesDevice(command, input)) return slots.worker;
    switch (options.deviceAccess.mode) {
      case 'privileged':
        return slots.worker;
      case 'prompt':
        return slots.elevated;
      case 'unavailable':
        throw new AppError('io', 'this app cannot read or write drives here', {
          ...(options.deviceAccess.detail !== null ? { hint: options.deviceAccess.detail } : {}),
        });
    }
  }

  async function forward<C extends CommandName>(
    command: C,
    input: CommandParsedInput<C>,
    context: HandlerContext,
  ): Promise<CommandOutput<C>> {
    const slot = slotFor(command, input);
    if (slot === slots.elevated) await assertReadable(command, input);
    const client = await obtain(slot);
    const jobId = (input as { jobId?: unknown }).jobId;
    if (typeof jobId === 'string') {
      if (jobs.has(jobId))
        throw new AppError('invalid-input', `job ${jobId} is already running`, { location: 'jobId' });
      jobs.set(jobId, { client, context });
    }
    try {
      const envelope = await client.request(command, input);
      if (!envelope.ok) throw errorFrom(command, envelope.error);
      // The router checks the value against the contract's output schema.
      return envelope.value as CommandOutput<C>;
    } finally {
      if (typeof jobId === 'string') jobs.delete(jobId);
    }
  }
  const forwarded =
    <C extends CommandName>(command: C) =>
    (input: CommandParsedInput<C>, context: HandlerContext) =>
      forward(command, input, context);

  function requireCacheDir(cacheDir: string | undefined, field: string): void {
    if (cacheDir === undefined || cacheDirs.has(path.resolve(cacheDir))) return;
    throw new AppError('usage', `${field} cannot be set by the window: the app uses its own download cache`, {
      location: field,
      hint: 'leave it out',
    });
  }

  /** The requests that check apk signatures, with the keys the person chose to trust added. */
  async function withSettingsKeys<C extends 'card.build' | 'card.verify' | 'packages.resolve'>(
    command: C,
    input: CommandParsedInput<C>,
  ): Promise<CommandParsedInput<C>> {
    const keys = options.settings === undefined ? [] : (await options.settings.read()).apkKeys;
    if (keys.length === 0) return input;
    const merged = (named: readonly string[] | undefined) => [...new Set([...(named ?? []), ...keys])];
    if (command === 'card.build') {
      const { request } = input as CommandParsedInput<'card.build'>;
      const packages = { offline: false, ...request.packages, apkKeys: merged(request.packages?.apkKeys) };
      return { ...input, request: { ...request, packages } };
    }
    const { request } = input as CommandParsedInput<'card.verify'> | CommandParsedInput<'packages.resolve'>;
    return { ...input, request: { ...request, apkKeys: merged(request.apkKeys) } };
  }

  /** A key to trust: chosen with the Open dialog, and a PEM public key. */
  async function checkApkKey(file: string, index: number): Promise<string> {
    const resolved = path.resolve(file);
    const field = `apkKeys.${index}`;
    if (!opened.has(resolved)) {
      throw new AppError('usage', 'a key to trust must be chosen with the Open dialog', {
        location: field,
        hint: 'choose the file with dialog.open-file, then send the path it gave',
      });
    }
    const text = await readFile(resolved, 'utf8').catch((error: unknown) => {
      throw new AppError('not-found', `cannot read ${resolved}: ${(error as Error).message}`, { location: field });
    });
    if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
      throw new AppError('invalid-input', `${path.basename(resolved)} is not an apk signing key (a PEM public key)`, {
        location: field,
        hint: 'choose the .rsa.pub file of the repository (as in /etc/apk/keys)',
      });
    }
    return resolved;
  }

  async function remember(file: string, yaml: string): Promise<void> {
    try {
      await options.recent.record({ path: file, hostname: hostnameOf(yaml) });
    } catch (error) {
      log(`[app] could not update the recent definitions: ${String(error)}\n`);
    }
  }

  const handlers: Handlers = {
    'app.info': () => Promise.resolve({ ...options.app, deviceAccess: options.deviceAccess }),
    'settings.get': async () => ({ apkKeys: (await options.settings?.read())?.apkKeys ?? [] }),
    'settings.set': async ({ apkKeys }) => {
      if (options.settings === undefined) throw new AppError('usage', 'this app keeps no settings');
      const checked: string[] = [];
      for (const [index, file] of apkKeys.entries()) checked.push(await checkApkKey(file, index));
      return options.settings.write({ apkKeys: [...new Set(checked)] });
    },
    'recent.list': async () => {
      const listed = await options.recent.list();
      for (const entry of listed) opened.add(path.resolve(entry.path));
      return { definitions: listed };
    },
    'dialog.open-file': async (input) => {
      const chosen = await options.dialogs.openFile(input);
      if (chosen !== null) opened.add(path.resolve(chosen));
      return { path: chosen };
    },
    'dialog.save-file': async (input) => {
      const chosen = await options.dialogs.saveFile(input);
      if (chosen !== null) saveApproved.add(path.resolve(chosen));
      return { path: chosen };
    },
    'definition.read': async (input, context) => {
      const result = await forward('definition.read', input, context);
      const file = path.resolve(input.path);
      // Only a file the person chose becomes a definition the window may save over (and a
      // recent one): a path the renderer made up is read, nothing more.
      if (opened.has(file) || saveApproved.has(file) || definitions.has(file)) {
        definitions.add(file);
        await remember(file, result.yaml);
      }
      return result;
    },
    'definition.save': async (input, context) => {
      const file = path.resolve(input.path);
      if (!saveApproved.has(file) && !definitions.has(file)) {
        throw new AppError('usage', 'the definition can only be saved where the Save dialog said, or over one opened', {
          location: 'path',
          hint: SAVE_DIALOG_HINT,
        });
      }
      if (
        input.keepSecretsFrom !== undefined &&
        ![...definitions].some((opened) => secretsPathFor(opened) === path.resolve(input.keepSecretsFrom as string))
      ) {
        throw new AppError('usage', 'only the secrets file of a definition opened in the app can be kept', {
          location: 'keepSecretsFrom',
          hint: 'open the definition (Open .yml…) first: its secrets file beside it is kept when it is saved',
        });
      }
      const result = await forward('definition.save', input, context);
      definitions.add(file);
      await remember(file, input.yaml);
      return result;
    },
    'card.build': async (input, context) => {
      const { destination, media } = input.request;
      if (destination.kind === 'image' && !saveApproved.has(path.resolve(destination.path))) {
        throw new AppError('usage', 'the image file was not chosen with the Save dialog', {
          location: 'request.destination.path',
          hint: SAVE_DIALOG_HINT,
        });
      }
      if (media.kind === 'fetch') requireCacheDir(media.cacheDir, 'request.media.cacheDir');
      const packages = input.request.packages;
      if (packages?.cacheDir !== undefined && !cacheDirs.has(path.resolve(packages.cacheDir))) {
        if (!packageCaches.has(path.resolve(packages.cacheDir)))
          requireCacheDir(packages.cacheDir, 'request.packages.cacheDir');
        else if (!packages.offline) {
          throw new AppError('usage', "a build takes the packages.resolve download cache's packages as they are", {
            location: 'request.packages.offline',
            hint: 'set packages.offline: the packages were fetched and checked by packages.resolve',
          });
        }
      }
      return forward('card.build', await withSettingsKeys('card.build', input), context);
    },
    'packages.resolve': async (input, context) => {
      requireCacheDir(input.request.cacheDir, 'request.cacheDir');
      const summary = await forward('packages.resolve', await withSettingsKeys('packages.resolve', input), context);
      if (summary.count?.fetched === true) packageCaches.add(path.resolve(summary.cacheDir));
      return summary;
    },
    'card.verify': async (input, context) => {
      requireCacheDir(input.request.cacheDir, 'request.cacheDir');
      return forward('card.verify', await withSettingsKeys('card.verify', input), context);
    },
    'release.status': (input, context) => {
      requireCacheDir(input.cacheDir, 'cacheDir');
      return forward('release.status', input, context);
    },
    'release.fetch': (input, context) => {
      requireCacheDir(input.query.cacheDir, 'query.cacheDir');
      return forward('release.fetch', input, context);
    },
    'machine.try-check': forwarded('machine.try-check'),
    'machine.try': (input, context) => {
      // Only an image saved here, or a definition or image the person opened, boots in QEMU.
      const file = path.resolve(input.request.target);
      if (!saveApproved.has(file) && !definitions.has(file) && !opened.has(file)) {
        throw new AppError('usage', 'only an image or definition chosen in the app can be tried', {
          location: 'request.target',
          hint: 'build an image with Save as image file, or open the definition first',
        });
      }
      return forward('machine.try', input, context);
    },
    'card.erase': forwarded('card.erase'),
    'file.kind': forwarded('file.kind'),
    'templates.list': forwarded('templates.list'),
    'release.list': forwarded('release.list'),
    'drives.list': forwarded('drives.list'),
    'drive.describe': forwarded('drive.describe'),
    'job.cancel': async ({ jobId }) => {
      const job = jobs.get(jobId);
      if (job === undefined) return { cancelled: false };
      const envelope = await job.client.request('job.cancel', { jobId });
      if (!envelope.ok) throw errorFrom('job.cancel', envelope.error);
      return envelope.value as CommandOutput<'job.cancel'>;
    },
  };

  async function shutdown({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    closing = true;
    const clients = await Promise.all(
      Object.values(slots).map(async (slot) => {
        // A worker being started (a password prompt shown) is closed once it exists.
        const starting = slot.starting?.catch(() => null);
        return (await starting) ?? slot.client;
      }),
    );
    await Promise.all(
      clients.map(async (client) => {
        if (client === null) return;
        try {
          await client.close({ timeoutMs });
        } catch (error) {
          log(`[app] closing a worker failed: ${String(error)}\n`);
        }
      }),
    );
  }

  return { handlers, shutdown };
}
