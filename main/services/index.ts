import type { LocatedIssue } from '../../shared/model/machine-yaml.js';
import type { BuildSummary } from '../../shared/model/build-image.js';
import type { ProgressListener } from '../../shared/model/progress.js';
import { AppError } from '../../shared/errors.js';
import type { EraseSummary } from '../../shared/model/erase.js';
import type { ReleaseQuery } from '../../shared/model/releases.js';
import type {
  BuildRequest,
  EraseRequest,
  PackagesRequest,
  PackagesSummary,
  VerifyRequest,
} from '../../shared/model/requests.js';
import type { VerifyReport } from '../../shared/model/verify-report.js';
import type { FileKind } from './files/file-kind.js';
import type { DeviceIdentity } from '../../shared/model/device-identity.js';
import type { ClassifiedDrive, Drive, PathLocation } from '../../shared/model/drive.js';
import type { TargetContext, UnmountReport } from './drives/drive-service.js';
import type { CacheEntry } from './releases/cache.js';
import { defaultCacheDir } from './releases/cache-dir.js';
import { toolVersion } from './tool-version.js';
import type { Release } from './releases/catalog.js';
import { mirrorJob } from './releases/mirror-job.js';
import type { TryAvailability } from './try/try-check.js';
import type { Architecture } from '../../shared/model/targets.js';
import type { FetchedRelease, FetchReleaseOptions } from './releases/fetch-release.js';
import type { InspectResult, OverlayResult } from './overlay/overlay-service.js';
import type { OfflinePackagesRequest, PlanContext, SyslinuxBootCodeRequest } from './build/plan.js';
import type { ApkovlServer, ServeOptions } from './serve/apkovl-server.js';
import type { TryOptions, TryResult } from './try/try-machine.js';

/** What the outside world gives the services: clocks and the environment. */
export interface ServiceDependencies {
  /** Milliseconds from an arbitrary origin, for rates and durations. */
  now: () => number;
  env: Readonly<Record<string, string | undefined>>;
  /** Recorded in the manifest of every card. */
  tool?: { name: string; version: string };
}

/** What a long job reports as it goes, and how it is stopped. */
export interface JobOptions {
  onProgress?: ProgressListener;
  /** Retries, waits: things a person should see. */
  onNote?: (text: string) => void;
  signal?: AbortSignal;
}

export interface ValidationResult {
  file: string;
  ok: boolean;
  issues: LocatedIssue[];
  overlay: OverlayResult | null;
  /** alpine.offline, when asked to resolve: the packages the world needs and their size. */
  packages?: OfflinePackageCount | null;
  /** The definition asks for alpine.offline. */
  offline?: boolean;
}

export interface OfflinePackageCount {
  /** Packages the world resolves to (the boot media's are among them: a build does not copy those). */
  resolved: number;
  bytes: number;
  indexes: number;
  indexBytes: number;
}

/** Where boot media come from when the build is not given them: the definition's release. */
export interface FetchSettings {
  mirrors?: string[];
  trustedKeyFile?: string;
  cacheDir?: string;
  offline?: boolean;
}

export interface Services {
  /** A card from a build request: plan, write the image file or device, read back. */
  build(request: BuildRequest, job?: JobOptions): Promise<BuildSummary>;
  /** Examine a card or card image: a card with problems is a report (its verdict says), not an error. */
  verifyCard(request: VerifyRequest, job?: JobOptions): Promise<VerifyReport>;
  /** What a file is, by its content. */
  fileKind(path: string): Promise<FileKind>;
  /** A definition file's text, for the app to open it (and its secrets file beside it, if any). */
  readDefinition(path: string): Promise<{ path: string; yaml: string; secretsPath: string | null }>;
  /** The boot media a query names if they are verified in the cache already; null if not (no network). */
  cachedRelease(query: ReleaseQuery, trust?: { trustedKeyFile?: string }): Promise<FetchedRelease | null>;
  /** A drive back to one empty FAT32 partition over all of it. */
  erase(request: EraseRequest, job?: JobOptions): Promise<EraseSummary>;
  /** Definition -> DIR/<hostname>.apkovl.tar.gz. */
  writeOverlay(options: {
    definition: string;
    secretsFile?: string;
    outputDir: string;
  }): Promise<OverlayResult & { path: string }>;
  /** Any apkovl: members and lint findings. */
  inspectApkovl(file: string): Promise<InspectResult>;
  /** Save a definition made in the app (and its secrets file), checked first. */
  saveDefinition(options: {
    path: string;
    yaml: string;
    secrets: Record<string, string>;
    keepSecretsFrom?: string;
  }): Promise<{ path: string; secretsPath: string | null; warnings: string[] }>;
  /** Check a definition and the overlay it makes, without writing anything. */
  /**
   * Check a definition. With `packages` and alpine.offline, also resolve its packages against
   * the signed indexes of its repositories (the mirror, or the cache with `offline`).
   */
  validateDefinition(options: {
    definition: string;
    secretsFile?: string;
    packages?: { apkKeys: string[]; offline: boolean; cacheDir?: string };
    onNote?: (text: string) => void;
    onProgress?: ProgressListener;
    signal?: AbortSignal;
  }): Promise<ValidationResult>;
  /**
   * alpine.offline: a definition's packages resolved and counted (with `fetch`, downloaded and
   * checked into the download cache too); counts are null for a definition without offline.
   */
  machinePackages(request: PackagesRequest, job?: JobOptions): Promise<PackagesSummary>;
  /** Boot media for a target: verified, from the cache or a mirror. */
  fetchRelease(
    options: Omit<FetchReleaseOptions, 'env' | 'cacheDir' | 'now'> & { cacheDir?: string },
  ): Promise<FetchedRelease>;
  listReleases(options: {
    mirror?: string;
    branch?: string;
    arch: string;
    signal?: AbortSignal;
    onNote?: (text: string) => void;
  }): Promise<{ url: string; releases: Release[] }>;
  cacheDirectory(override?: string): string;
  listCache(cacheDir?: string): Promise<CacheEntry[]>;
  pruneCache(options: { cacheDir?: string; all?: boolean; olderThanDays?: number }): Promise<CacheEntry[]>;
  /** Every drive the OS lists, with its verdict (hidden ones included; loop devices only when asked). */
  listDrives(context?: TargetContext, options?: { loopDevices?: boolean }): Promise<ClassifiedDrive[]>;
  /** An explicitly named whole drive or loop device with its verdict; throws for anything else. */
  resolveTarget(device: string, context?: TargetContext): Promise<ClassifiedDrive>;
  /** Unmount every mounted partition of a drive about to be written (refuses system drives). */
  unmountDrive(drive: Drive): Promise<UnmountReport>;
  /** Which drives hold a file or folder. */
  locatePath(path: string): Promise<PathLocation>;
  /** A device named to be written: the drive as classified now, and its identity to confirm. */
  describeTarget(device: string): Promise<{ drive: ClassifiedDrive; identity: DeviceIdentity }>;
  /** `apkovl serve`: apkovls over HTTP(S) for netbooted machines, until closed. */
  serve(options: Omit<ServeOptions, 'mtime'>): Promise<ApkovlServer>;
  /** `apkovl try`: boot an x86 image or netboot a definition in QEMU, until QEMU ends. */
  tryMachine(options: TryOptions & { cacheDir?: string }): Promise<TryResult>;
  /** Whether QEMU and its firmware are here to try a card image or a definition of `arch`. */
  tryAvailability(kind: 'image' | 'definition', arch: Architecture): Promise<TryAvailability>;
}

function sourceDateEpoch(env: ServiceDependencies['env']): number | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * The composition root: the one place where the services are wired together. Each service is
 * loaded when first used, so a command starts without parsing what it does not need (OpenPGP,
 * HTTP, the schema library).
 */
export function createServices(dependencies: ServiceDependencies): Services {
  const epoch = sourceDateEpoch(dependencies.env);
  const tool = dependencies.tool ?? { name: 'apkovl-studio', version: toolVersion() };
  const cacheDirectory = (override?: string) => override ?? defaultCacheDir(dependencies.env);
  const releases = () => import('./releases/fetch-release.js');
  const cache = async (directory?: string) =>
    new (await import('./releases/cache.js')).ReleaseCache(cacheDirectory(directory));
  const overlays = () => import('./overlay/overlay-service.js');
  const definitions = () => import('./machine/load-definition.js');
  const drives = () => import('./drives/drive-service.js');
  return {
    cacheDirectory,
    fetchRelease: async ({ cacheDir, ...options }) =>
      (await releases()).fetchRelease({
        ...options,
        cacheDir: cacheDirectory(cacheDir),
        env: dependencies.env,
        now: dependencies.now,
      }),
    listReleases: async (options) => (await releases()).listReleases({ ...options, env: dependencies.env }),
    listCache: async (cacheDir) => (await cache(cacheDir)).list(),
    pruneCache: async ({ cacheDir, ...options }) => (await cache(cacheDir)).prune(options),
    machinePackages: async (request, job = {}) =>
      (await import('./apk/machine-packages.js')).machinePackages(request, {
        ...job,
        cacheDir: cacheDirectory(request.cacheDir),
        env: dependencies.env,
        sourceDateEpoch: epoch,
      }),
    async build(request, job = {}) {
      const { buildToDevice, buildToImage } = await import('./build/run-build.js');
      const planContext = {
        sourceDateEpoch: epoch,
        fetchRelease: async ({ cacheDir, ...wanted }: Parameters<PlanContext['fetchRelease']>[0]) =>
          (await releases()).fetchRelease({
            ...wanted,
            cacheDir: cacheDirectory(cacheDir),
            env: dependencies.env,
            now: dependencies.now,
            ...(job.signal ? { signal: job.signal } : {}),
            ...(job.onProgress ? { onProgress: job.onProgress } : {}),
            ...(job.onNote ? { onNote: job.onNote } : {}),
          }),
        offlinePackages: async ({ cacheDir, ...wanted }: OfflinePackagesRequest) =>
          (await import('./apk/offline-packages.js')).offlinePackages({
            ...wanted,
            cacheDir: cacheDirectory(cacheDir),
            ...mirrorJob({ env: dependencies.env, ...job }),
          }),
        syslinuxBootCode: async ({ cacheDir, ...wanted }: SyslinuxBootCodeRequest) =>
          (await import('./boot-media/syslinux-source.js')).syslinuxBootCode({
            ...wanted,
            cacheDir: cacheDirectory(cacheDir),
            ...mirrorJob({ env: dependencies.env, ...job }),
          }),
        ...(job.onNote ? { note: job.onNote } : {}),
      };
      const options = { now: dependencies.now, tool, ...job };
      if (request.destination.kind === 'image') return buildToImage(request, planContext, options);
      const { driveGuard } = await import('./drives/drive-guard.js');
      const cacheDir = cacheDirectory(request.media.kind === 'fetch' ? request.media.cacheDir : undefined);
      return buildToDevice(request, planContext, { ...options, drives: driveGuard(), cacheDir });
    },
    async verifyCard(request, job = {}) {
      const { verifyCard } = await import('./verify/verify-card.js');
      return verifyCard(request, {
        now: dependencies.now,
        tool,
        cache: await cache(request.cacheDir),
        ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
        ...(job.onProgress ? { onProgress: job.onProgress } : {}),
        ...(job.signal ? { signal: job.signal } : {}),
      });
    },
    fileKind: async (file) => (await import('./files/file-kind.js')).detectFileKind(file),
    readDefinition: async (file) => (await import('./machine/read-definition.js')).readDefinitionText(file),
    async cachedRelease({ cacheDir, mirrors, ...query }, trust = {}) {
      try {
        return await (
          await releases()
        ).fetchRelease({
          ...query,
          ...(trust.trustedKeyFile !== undefined ? { trustedKeyFile: trust.trustedKeyFile } : {}),
          ...(mirrors.length > 0 ? { mirrors } : {}),
          offline: true,
          cacheDir: cacheDirectory(cacheDir),
          env: dependencies.env,
          now: dependencies.now,
        });
      } catch (error) {
        if (error instanceof AppError && error.code === 'not-found') return null;
        throw error;
      }
    },
    async erase(request, job = {}) {
      const { eraseDevice } = await import('./build/erase.js');
      const { driveGuard } = await import('./drives/drive-guard.js');
      return eraseDevice(request, { drives: driveGuard(), now: dependencies.now, ...job });
    },
    listDrives: async (context, options) => (await drives()).listDrives(context, options),
    resolveTarget: async (device, context) => (await drives()).resolveTarget(device, context),
    unmountDrive: async (drive) => (await drives()).unmountDrive(drive),
    locatePath: async (path) => (await drives()).locatePath(path),
    async describeTarget(device) {
      const drive = await (await drives()).resolveTarget(device);
      const identity = await (await import('./flash/device-identity.js')).readDeviceIdentity(device);
      return { drive, identity };
    },
    saveDefinition: async (options) => (await import('./machine/save-definition.js')).saveDefinition(options),
    writeOverlay: async (options) =>
      (await overlays()).writeOverlay({ ...options, ...(epoch !== undefined ? { mtime: epoch } : {}) }),
    inspectApkovl: async (file) => (await overlays()).inspectApkovl(file),
    serve: async (options) =>
      (await import('./serve/apkovl-server.js')).startServer({
        ...options,
        ...(epoch !== undefined ? { mtime: epoch } : {}),
      }),
    tryAvailability: async (kind, arch) =>
      (await import('./try/try-check.js')).tryAvailability(kind, arch, dependencies.env),
    async tryMachine({ cacheDir, ...options }) {
      const directory = cacheDirectory(cacheDir);
      return (await import('./try/try-machine.js')).tryMachine(options, {
        env: dependencies.env,
        cacheDir: directory,
        fetchRelease: async (wanted) =>
          (await releases()).fetchRelease({
            ...wanted,
            cacheDir: directory,
            env: dependencies.env,
            now: dependencies.now,
          }),
      });
    },
    async validateDefinition({ definition, secretsFile, packages, ...job }) {
      const { DefinitionError } = await import('./machine/definition-error.js');
      try {
        const loaded = await (
          await definitions()
        ).loadDefinition(definition, secretsFile !== undefined ? { secretsFile } : {});
        const overlay = await (
          await overlays()
        ).overlayFromDefinition(loaded, epoch !== undefined ? { mtime: epoch } : {});
        let counted: OfflinePackageCount | null = null;
        if (packages !== undefined && loaded.machine.alpine.offline) {
          const { mirrorRepositoryLines, repositoryBranch } = await import('./overlay/generate.js');
          const machine = loaded.machine;
          const lines = mirrorRepositoryLines(machine);
          const result = await (
            await import('./apk/offline-packages.js')
          ).offlinePackages({
            branch: repositoryBranch(machine),
            arch: machine.target.arch,
            mirror: machine.alpine.mirror.replace(/\/+$/, ''),
            repositories: machine.alpine.repositories.map((name, index) => ({ name, line: lines[index] as string })),
            world: overlay.generated.world,
            mediaApks: new Set(),
            apkKeys: packages.apkKeys,
            offline: packages.offline,
            resolveOnly: true,
            cacheDir: cacheDirectory(packages.cacheDir),
            env: dependencies.env,
            ...job,
          });
          counted = {
            resolved: result.resolved,
            bytes: result.packageBytes,
            indexes: result.files.length,
            indexBytes: result.indexBytes,
          };
        }
        return {
          file: definition,
          ok: true,
          issues: loaded.warnings,
          overlay,
          packages: counted,
          offline: loaded.machine.alpine.offline,
        };
      } catch (error) {
        if (error instanceof DefinitionError)
          return { file: error.file, ok: false, issues: error.issues, overlay: null };
        throw error;
      }
    },
  };
}
