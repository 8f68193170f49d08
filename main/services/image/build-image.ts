import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { BuildSummary } from '../../../shared/model/build-image.js';
import type { ProgressListener } from '../../../shared/model/progress.js';
import { buildRequestSchema } from '../../../shared/model/requests.js';
import { buildToImage } from '../build/run-build.js';

export type { BuildSummary };
export { DEFAULT_IMAGE_PARTITION_BYTES, DEFAULT_VOLUME_LABEL } from '../build/defaults.js';
export { checkPartitionSize } from '../build/card-checks.js';

/** A build of an image file from media at hand, as the tests and the benchmark run it. */
export interface BuildImageOptions {
  /** Alpine boot media: a Raspberry Pi tarball or an x86_64 ISO (told apart by content). */
  bootMedia: string;
  /** The apkovl to put on the card... */
  overlay?: string;
  /** ...or a machine definition to generate it from (with its card settings). */
  definition?: { file: string; secretsFile?: string };
  output: string;
  partitionBytes?: number;
  volumeLabel?: string;
  /** A file whose content becomes `usercfg.txt`. */
  usercfg?: string;
  cmdlineAppend?: string[];
  /** x86: a BIOS+UEFI stick (boot code from the ISO's own signed repository) or UEFI only. */
  firmware?: 'bios-uefi' | 'uefi';
  /** Extra apk keys that sign the ISO's repository (tests sign their own). */
  apkKeys?: string[];
  seed?: string;
  sourceDateEpoch?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Boot media + apkovl (or a machine definition) -> a card image (MBR + FAT32), in one streaming
 * pass: the BuildRequest of an image file from a media file, without fetching. The image
 * appears at `output` only when complete; on any failure nothing is left behind.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuildSummary> {
  if ((options.overlay === undefined) === (options.definition === undefined)) {
    throw new AppError('usage', 'give either an apkovl or a machine definition', {
      hint: 'apkovl build machine.yml --boot-media ... or apkovl build --overlay x.apkovl.tar.gz --boot-media ...',
    });
  }
  const request = buildRequestSchema.parse({
    source: options.definition
      ? { kind: 'definition', ...options.definition }
      : { kind: 'apkovl', file: options.overlay },
    media: { kind: 'file', path: options.bootMedia },
    destination: { kind: 'image', path: options.output },
    card: {
      ...(options.partitionBytes !== undefined ? { partitionBytes: options.partitionBytes } : {}),
      ...(options.volumeLabel !== undefined ? { volumeLabel: options.volumeLabel } : {}),
      ...(options.usercfg !== undefined ? { usercfgFile: options.usercfg } : {}),
      ...(options.cmdlineAppend !== undefined ? { cmdlineAppend: options.cmdlineAppend } : {}),
      ...(options.firmware !== undefined ? { firmware: options.firmware } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    },
    verify: false,
    ...(options.apkKeys !== undefined ? { packages: { apkKeys: options.apkKeys, offline: true } } : {}),
  });
  return buildToImage(
    request,
    {
      sourceDateEpoch: options.sourceDateEpoch,
      fetchRelease: () => Promise.reject(new AppError('internal', 'buildImage never fetches')),
      // Boot code only from the media's own repository: an empty cache, nothing fetched.
      syslinuxBootCode: async (wanted) =>
        (await import('../boot-media/syslinux-source.js')).syslinuxBootCode({
          ...wanted,
          offline: true,
          cacheDir: path.join(tmpdir(), 'apkovl-build-image-no-cache'),
          env: {},
        }),
    },
    {
      now: options.now ?? (() => performance.now()),
      tool: { name: 'apkovl-studio', version: 'test' },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}
