import { mirrorJob } from '../releases/mirror-job.js';
import type { PackagesRequest, PackagesSummary } from '../../../shared/model/requests.js';
import type { BuildPlan } from '../build/plan.js';
import type { LoadedDefinition } from '../machine/load-definition.js';
import type { MirrorJobOptions } from '../releases/mirror-job.js';
import { offlinePackages, type OfflinePackagesOptions } from './offline-packages.js';

/**
 * The packages of an offline machine as the app asks for them (`packages.resolve`): counted
 * before writing, or fetched into the download cache before the build. With the boot media,
 * their release picks the repository branch and their apks/ the packages left out, exactly as
 * the build's plan does, so that a build with `packages.offline` finds every index and package
 * this put in the cache.
 */

export interface MachinePackagesContext extends MirrorJobOptions {
  cacheDir: string;
  sourceDateEpoch: number | undefined;
}

/** The media's release branch and package files, read once (and checked against the definition). */
async function mediaFacts(file: string, definition: LoadedDefinition, signal?: AbortSignal) {
  const { mediaKindOf } = await import('../files/file-kind.js');
  const { scanMedia } = await import('../build/scan-media.js');
  const { releaseBranch } = await import('../build/plan.js');
  // scanMedia reads only the media, the definition and the layout of a plan (the layout decides
  // which files count for the FAT partition, not which packages the media carry).
  const plan = {
    media: { path: file, kind: await mediaKindOf(file, 'request.bootMedia'), sha256: null, fetched: null },
    definition,
    layout: { kind: 'fat' },
  } as BuildPlan;
  const scan = await scanMedia(plan, signal);
  return { branch: releaseBranch(scan.alpineRelease), apks: scan.apks };
}

export async function machinePackages(
  request: PackagesRequest,
  context: MachinePackagesContext,
): Promise<PackagesSummary> {
  const { loadDefinition } = await import('../machine/load-definition.js');
  const loaded = await loadDefinition(
    request.definition.file,
    request.definition.secretsFile !== undefined ? { secretsFile: request.definition.secretsFile } : {},
  );
  const machine = loaded.machine;
  if (!machine.alpine.offline) return { offline: false, count: null, cacheDir: context.cacheDir };
  const media = request.bootMedia !== undefined ? await mediaFacts(request.bootMedia, loaded, context.signal) : null;
  const branch = media?.branch;
  const { overlayFromDefinition } = await import('../overlay/overlay-service.js');
  const { mirrorRepositoryLines, repositoryBranch } = await import('../overlay/generate.js');
  const made = await overlayFromDefinition(loaded, {
    mtime: context.sourceDateEpoch ?? 0,
    ...(branch !== undefined ? { releaseBranch: branch } : {}),
  });
  const lines = mirrorRepositoryLines(machine, branch);
  const options: OfflinePackagesOptions = {
    branch: repositoryBranch(machine, branch),
    arch: machine.target.arch,
    mirror: machine.alpine.mirror.replace(/\/+$/, ''),
    repositories: machine.alpine.repositories.map((name, index) => ({ name, line: lines[index] as string })),
    world: made.generated.world,
    mediaApks: media?.apks ?? new Set(),
    apkKeys: request.apkKeys,
    offline: request.offline,
    resolveOnly: !request.fetch,
    cacheDir: context.cacheDir,
    ...mirrorJob(context),
  };
  const result = await offlinePackages(options);
  const indexes = result.files.length - (request.fetch ? result.packages : 0);
  return {
    offline: true,
    count: {
      branch: options.branch,
      repositories: machine.alpine.repositories,
      resolved: result.resolved,
      packages: result.packages,
      packageBytes: result.packageBytes,
      indexes,
      indexBytes: result.indexBytes,
      onBootMedia: result.onBootMedia.length,
      fetched: request.fetch,
    },
    cacheDir: context.cacheDir,
  };
}
