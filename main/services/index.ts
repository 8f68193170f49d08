import { AppError } from '../../shared/errors.js';
import type { LocatedIssue } from '../../shared/model/machine-yaml.js';
import { buildImage, type BuildImageOptions, type BuildSummary } from './image/build-image.js';
import { DefinitionError } from './machine/definition-error.js';
import { loadDefinition } from './machine/load-definition.js';
import { defaultCacheDir, ReleaseCache, type CacheEntry } from './releases/cache.js';
import type { Release } from './releases/catalog.js';
import { fetchRelease, listReleases, type FetchedRelease, type FetchReleaseOptions } from './releases/fetch-release.js';
import {
  inspectApkovl,
  overlayFromDefinition,
  writeOverlay,
  type InspectResult,
  type OverlayResult,
} from './overlay/overlay-service.js';

/** What the outside world gives the services: clocks and the environment. */
export interface ServiceDependencies {
  /** Milliseconds from an arbitrary origin, for rates and durations. */
  now: () => number;
  env: Readonly<Record<string, string | undefined>>;
}

export interface ValidationResult {
  file: string;
  ok: boolean;
  issues: LocatedIssue[];
  overlay: OverlayResult | null;
}

/** Where boot media come from when the build is not given them: the definition's release. */
export interface FetchSettings {
  mirrors?: string[];
  trustedKeyFile?: string;
  cacheDir?: string;
  offline?: boolean;
}

export interface Services {
  /**
   * Boot media + apkovl or definition -> card image. Without `bootMedia`, the media the
   * definition's target and release call for are fetched (verified, cached) first.
   */
  buildImage(
    options: Omit<BuildImageOptions, 'now' | 'bootMedia'> & { bootMedia?: string; fetch?: FetchSettings },
  ): Promise<BuildSummary>;
  /** Definition -> DIR/<hostname>.apkovl.tar.gz. */
  writeOverlay(options: {
    definition: string;
    secretsFile?: string;
    outputDir: string;
  }): Promise<OverlayResult & { path: string }>;
  /** Any apkovl: members and lint findings. */
  inspectApkovl(file: string): Promise<InspectResult>;
  /** Check a definition and the overlay it makes, without writing anything. */
  validateDefinition(options: { definition: string; secretsFile?: string }): Promise<ValidationResult>;
  /** Boot media for a target: verified, from the cache or a mirror. */
  fetchRelease(
    options: Omit<FetchReleaseOptions, 'env' | 'cacheDir' | 'now'> & { cacheDir?: string },
  ): Promise<FetchedRelease>;
  listReleases(options: {
    mirror?: string;
    branch?: string;
    arch: string;
    signal?: AbortSignal;
  }): Promise<{ url: string; releases: Release[] }>;
  cacheDirectory(override?: string): string;
  listCache(cacheDir?: string): Promise<CacheEntry[]>;
  pruneCache(options: { cacheDir?: string; all?: boolean; olderThanDays?: number }): Promise<CacheEntry[]>;
}

function sourceDateEpoch(env: ServiceDependencies['env']): number | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The composition root: the one place where the services are wired together. */
export function createServices(dependencies: ServiceDependencies): Services {
  const epoch = sourceDateEpoch(dependencies.env);
  const cacheDirectory = (override?: string) => override ?? defaultCacheDir(dependencies.env);
  return {
    cacheDirectory,
    fetchRelease: ({ cacheDir, ...options }) =>
      fetchRelease({ ...options, cacheDir: cacheDirectory(cacheDir), env: dependencies.env, now: dependencies.now }),
    listReleases: (options) => listReleases({ ...options, env: dependencies.env }),
    listCache: (cacheDir) => new ReleaseCache(cacheDirectory(cacheDir)).list(),
    pruneCache: ({ cacheDir, ...options }) => new ReleaseCache(cacheDirectory(cacheDir)).prune(options),
    async buildImage({ fetch, bootMedia, ...options }) {
      let media = bootMedia;
      if (media === undefined) {
        if (options.definition === undefined) {
          throw new AppError('invalid-input', 'without a machine definition, give the boot media', {
            location: '--boot-media',
            hint: 'apkovl fetch --board rpi --arch aarch64 prints the path of verified media',
          });
        }
        const definition = options.definition;
        const { machine } = await loadDefinition(
          definition.file,
          definition.secretsFile !== undefined ? { secretsFile: definition.secretsFile } : {},
        );
        const { target, alpine } = machine;
        const fetched = await fetchRelease({
          board: target.board,
          arch: target.arch,
          flavor: alpine.flavor,
          ...(alpine.version !== undefined ? { version: alpine.version } : { branch: alpine.branch }),
          mirrors: fetch?.mirrors && fetch.mirrors.length > 0 ? fetch.mirrors : [alpine.mirror],
          ...(fetch?.trustedKeyFile !== undefined ? { trustedKeyFile: fetch.trustedKeyFile } : {}),
          ...(fetch?.offline ? { offline: true } : {}),
          cacheDir: cacheDirectory(fetch?.cacheDir),
          env: dependencies.env,
          now: dependencies.now,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
        media = fetched.path;
      }
      return buildImage({
        ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
        ...options,
        bootMedia: media,
        now: dependencies.now,
      });
    },
    writeOverlay: (options) => writeOverlay({ ...options, ...(epoch !== undefined ? { mtime: epoch } : {}) }),
    inspectApkovl,
    async validateDefinition({ definition, secretsFile }) {
      try {
        const loaded = await loadDefinition(definition, secretsFile !== undefined ? { secretsFile } : {});
        const overlay = await overlayFromDefinition(loaded, epoch !== undefined ? { mtime: epoch } : {});
        return { file: definition, ok: true, issues: loaded.warnings, overlay };
      } catch (error) {
        if (error instanceof DefinitionError)
          return { file: error.file, ok: false, issues: error.issues, overlay: null };
        throw error;
      }
    },
  };
}
