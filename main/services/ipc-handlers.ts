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
  return {
    'app.info': () => Promise.resolve(dependencies.app),
    'image.build': async ({ jobId, request }, context) => {
      if (jobs.has(jobId)) throw new AppError('invalid-input', `job ${jobId} is already running`);
      const controller = new AbortController();
      jobs.set(jobId, controller);
      try {
        const { machine, secrets, bootMedia, ...rest } = request;
        const isDefinition = /\.ya?ml$/i.test(machine);
        return await services.buildImage({
          ...rest,
          ...(bootMedia !== undefined ? { bootMedia } : {}),
          ...(isDefinition
            ? { definition: { file: machine, ...(secrets !== undefined ? { secretsFile: secrets } : {}) } }
            : { overlay: machine }),
          onProgress: (progress) => context.emit('job.progress', { jobId, progress }),
          signal: controller.signal,
        });
      } finally {
        jobs.delete(jobId);
      }
    },
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
