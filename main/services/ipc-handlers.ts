import { AppError } from '../../shared/errors.js';
import type { Handlers } from '../../shared/ipc/router.js';
import type { Services } from './index.js';

export interface FileDialogs {
  openFile(options: { title: string; filters: { name: string; extensions: string[] }[] }): Promise<string | null>;
  saveFile(options: { title: string; defaultName: string }): Promise<string | null>;
}

export interface HandlerDependencies {
  dialogs: FileDialogs;
  app: { name: string; version: string; platform: string };
}

/**
 * The IPC handler table over the services: the same for the Electron app and for the tests
 * (which give it fake dialogs). Long commands run as jobs that report progress by job id and
 * can be cancelled.
 */
export function createHandlers(services: Services, dependencies: HandlerDependencies): Handlers {
  const jobs = new Map<string, AbortController>();
  /** A long command as a job: cancellable by its id while it runs. */
  const runJob = async <T>(jobId: string, work: (job: { signal: AbortSignal }) => Promise<T>): Promise<T> => {
    if (jobs.has(jobId)) throw new AppError('invalid-input', `job ${jobId} is already running`);
    const controller = new AbortController();
    jobs.set(jobId, controller);
    try {
      return await work({ signal: controller.signal });
    } finally {
      jobs.delete(jobId);
    }
  };
  return {
    'app.info': () => Promise.resolve(dependencies.app),
    'file.kind': async ({ path }) => ({ kind: await services.fileKind(path) }),
    'card.build': ({ jobId, request }, context) =>
      runJob(jobId, (job) =>
        services.build(request, {
          ...job,
          onProgress: (progress) => context.emit('job.progress', { jobId, progress }),
          onNote: (text) => context.emit('job.note', { jobId, text }),
        }),
      ),
    'card.verify': ({ jobId, request }, context) =>
      runJob(jobId, (job) =>
        services.verifyCard(request, {
          ...job,
          onProgress: (progress) => context.emit('job.progress', { jobId, progress }),
        }),
      ),
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
