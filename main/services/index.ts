import { buildImage, type BuildImageOptions, type BuildSummary } from './image/build-image.js';

/** What the outside world gives the services: clocks and the environment. */
export interface ServiceDependencies {
  /** Milliseconds from an arbitrary origin, for rates and durations. */
  now: () => number;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Services {
  /** Boot media + apkovl -> card image. */
  buildImage(options: Omit<BuildImageOptions, 'now'>): Promise<BuildSummary>;
}

/** The composition root: the one place where the services are wired together. */
export function createServices(dependencies: ServiceDependencies): Services {
  return {
    buildImage: (options) => buildImage({ ...options, now: dependencies.now }),
  };
}
