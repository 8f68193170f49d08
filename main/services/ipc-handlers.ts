import { AppError } from '../../shared/errors.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import type { HandlerContext, Handlers } from '../../shared/ipc/router.js';
import type { ReleaseQuery } from '../../shared/model/releases.js';
import type { JobOptions, Services } from './index.js';

export interface FileDialogs {
  openFile(options: { title: string; filters: { name: string; extensions: string[] }[] }): Promise<string | null>;
  saveFile(options: { title: string; defaultName: string }): Promise<string | null>;
}

/** The definitions a person used lately; kept by the desktop app (the CLI keeps none). */
export interface RecentDefinitions {
  list(): Promise<CommandOutput<'recent.list'>['definitions']>;
}

export interface HandlerDependencies {
  dialogs: FileDialogs;
  app: CommandOutput<'app.info'>;
  recent?: RecentDefinitions;
}

/**
 * The IPC handler table over the services: the same for the Electron app and for the tests
 * (which give it fake dialogs). Long commands run as jobs that report progress by job id and
 * can be cancelled.
 */
/** A release query as the release services take it. */
function releaseOptions(query: ReleaseQuery) {
  return {
    board: query.board,
    arch: query.arch,
    ...(query.flavor !== undefined ? { flavor: query.flavor } : {}),
    ...(query.version !== undefined ? { version: query.version } : {}),
    ...(query.version === undefined && query.branch !== undefined ? { branch: query.branch } : {}),
    ...(query.mirrors.length > 0 ? { mirrors: query.mirrors } : {}),
    ...(query.cacheDir !== undefined ? { cacheDir: query.cacheDir } : {}),
  };
}

const noSettings = () =>
  new AppError('usage', 'this process keeps no settings; the desktop app does', {
    hint: 'give apk keys with --apk-key',
  });

export function createHandlers(services: Services, dependencies: HandlerDependencies): Handlers {
  const jobs = new Map<string, AbortController>();
  /** A long command: progress and notes as events under its job id, cancellable by job.cancel. */
  async function job<T>(jobId: string, context: HandlerContext, run: (options: JobOptions) => Promise<T>): Promise<T> {
    if (jobs.has(jobId)) throw new AppError('invalid-input', `job ${jobId} is already running`);
    const controller = new AbortController();
    jobs.set(jobId, controller);
    try {
      return await run({
        onProgress: (progress) => context.emit('job.progress', { jobId, progress }),
        onNote: (text) => context.emit('job.note', { jobId, text }),
        signal: controller.signal,
      });
    } finally {
      jobs.delete(jobId);
    }
  }
  return {
    'app.info': () => Promise.resolve(dependencies.app),
    'recent.list': async () => {
      if (dependencies.recent === undefined)
        throw new AppError('usage', 'this process keeps no list of recent definitions; the desktop app does');
      return { definitions: await dependencies.recent.list() };
    },
    'settings.get': () => Promise.reject(noSettings()),
    'settings.set': () => Promise.reject(noSettings()),
    'file.kind': async ({ path }) => ({ kind: await services.fileKind(path) }),
    'templates.list': async () => {
      const { templates } = await import('./machine/templates.js');
      return {
        templates: templates.map(({ name, description, definition, secrets }) => ({
          name,
          description,
          definition,
          secrets,
        })),
      };
    },
    'definition.read': ({ path }) => services.readDefinition(path),
    'release.list': ({ arch, branch, mirror }) =>
      services.listReleases({
        arch,
        ...(branch !== undefined ? { branch } : {}),
        ...(mirror !== undefined ? { mirror } : {}),
      }),
    'release.status': async (query) => ({ cached: await services.cachedRelease(query) }),
    'release.fetch': ({ jobId, query }, context) =>
      job(jobId, context, ({ onProgress, onNote, signal }) =>
        services.fetchRelease({
          ...releaseOptions(query),
          ...(onProgress ? { onProgress } : {}),
          ...(onNote ? { onNote } : {}),
          ...(signal ? { signal } : {}),
        }),
      ),
    'drives.list': async ({ loopDevices }) => ({ drives: await services.listDrives({}, { loopDevices }) }),
    'drive.describe': ({ device }) => services.describeTarget(device),
    'card.build': ({ jobId, request }, context) => job(jobId, context, (options) => services.build(request, options)),
    'card.erase': ({ jobId, request }, context) => job(jobId, context, (options) => services.erase(request, options)),
    'packages.resolve': ({ jobId, request }, context) =>
      job(jobId, context, (options) => services.machinePackages(request, options)),
    'machine.try-check': ({ kind, arch }) => services.tryAvailability(kind, arch),
    'machine.try': ({ jobId, request }, context) =>
      job(jobId, context, async ({ onNote, signal }) => {
        const result = await services.tryMachine({
          target: request.target,
          bios: request.bios,
          display: request.display,
          ...(request.disk !== undefined ? { disk: request.disk } : {}),
          ...(request.kvm !== undefined ? { kvm: request.kvm } : {}),
          ...(request.memoryMiB !== undefined ? { memoryMiB: request.memoryMiB } : {}),
          console: 'pipe',
          onEvent: (event) => {
            if (event.kind === 'note' || event.kind === 'warning') onNote?.(event.message);
            else if (event.kind === 'starting') onNote?.(`${event.description}; close its window to stop it`);
          },
          ...(signal ? { signal } : {}),
        });
        return { mode: result.mode, exitCode: result.exitCode, hostname: result.hostname ?? null };
      }),
    'card.verify': ({ jobId, request }, context) =>
      job(jobId, context, (options) => services.verifyCard(request, options)),
    'definition.save': (input) => services.saveDefinition(input),
    'job.cancel': ({ jobId }) => {
      const job = jobs.get(jobId);
      job?.abort();
      return Promise.resolve({ cancelled: job !== undefined });
    },
    'dialog.open-file': async (options) => ({ path: await dependencies.dialogs.openFile(options) }),
    'dialog.save-file': async (options) => ({ path: await dependencies.dialogs.saveFile(options) }),
  };
}
