import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { apkRepositoryUrl, fetchApkIndexes, openApkIndex, verifyApkRange } from '../apk/index-fetch.js';
import { parseApkIndex } from '../apk/index-parse.js';
import { apkKeyring } from '../apk/signature.js';
import { mirrorJob, type MirrorJobOptions } from '../releases/mirror-job.js';
import { bufferRange, withFileRange } from './gzip-end.js';
import type { IsoImage, IsoNode } from './iso9660.js';
import { bootCodeFromApk, entryRef, pickSyslinux, type SyslinuxBootCode } from './syslinux-boot-code.js';

/**
 * Where a BIOS+UEFI stick's boot code comes from: the release's own `syslinux` package, so that
 * isohdppx.bin matches the ISO's isolinux.bin. First the ISO's boot repository (apks/<arch>/,
 * whose APKINDEX.tar.gz is signed by Alpine's keys, like a mirror's); else the release branch's
 * `main` repository on the mirror, through the download cache. Never from the machine this
 * runs on.
 */
export interface SyslinuxSourceOptions extends MirrorJobOptions {
  image: IsoImage;
  arch: string;
  /** The release branch of the ISO (v3.22); null when .alpine-release names none. */
  branch: string | null;
  mirrors: readonly string[];
  apkKeys: readonly string[];
  cacheDir: string;
  offline: boolean;
}

const MAX_MEMBER = 64 << 20;

function child(node: IsoNode | undefined, name: string): IsoNode | undefined {
  return node?.children.find((each) => each.name === name);
}

async function fromMedia(options: SyslinuxSourceOptions): Promise<SyslinuxBootCode | null> {
  const { image, arch } = options;
  const folder = child(child(image.root, 'apks'), arch);
  const indexNode = child(folder, 'APKINDEX.tar.gz');
  if (folder === undefined || indexNode === undefined || indexNode.size > MAX_MEMBER) return null;
  const where = `${image.path}: apks/${arch}/APKINDEX.tar.gz`;
  const keyring = await apkKeyring(arch, options.apkKeys);
  const index = await openApkIndex(
    bufferRange(await image.readRange(indexNode.extent * 2048, indexNode.size)),
    keyring,
    where,
  );
  const pkg = pickSyslinux(parseApkIndex(index.text, { source: where }).packages, arch);
  if (pkg === null) return null;
  const fileName = `${pkg.name}-${pkg.version}.apk`;
  const apkNode = child(folder, fileName);
  if (apkNode === undefined || apkNode.size > MAX_MEMBER) return null;
  const source = `${image.path}: apks/${arch}/${fileName}`;
  const range = bufferRange(await image.readRange(apkNode.extent * 2048, apkNode.size));
  await verifyApkRange(range, entryRef(pkg), source);
  return {
    ...(await bootCodeFromApk(range, source)),
    packageName: `${pkg.name}-${pkg.version}`,
    source: `the boot media's apks/${arch}, index signed by ${index.keyName}`,
  };
}

async function fromMirror(options: SyslinuxSourceOptions): Promise<SyslinuxBootCode> {
  if (options.branch === null) {
    throw new AppError(
      'invalid-media',
      "the ISO's boot repository has no syslinux package, and its .alpine-release names no release to fetch one for",
      { location: options.image.path, hint: 'use an Alpine ISO as published, or target.board: x86_64-uefi' },
    );
  }
  const indexes = await fetchApkIndexes({
    branch: options.branch,
    arch: options.arch,
    repositories: ['main'],
    mirrors: [...options.mirrors],
    apkKeys: options.apkKeys,
    cacheDir: options.cacheDir,
    offline: options.offline,
    ...mirrorJob(options),
  });
  const index = indexes[0];
  if (index === undefined) throw new AppError('internal', 'no main index');
  const pkg = pickSyslinux(parseApkIndex(index.text, { source: index.url }).packages, options.arch);
  const mirror = index.url.slice(0, index.url.indexOf(`/${options.branch}/main/`));
  if (pkg === null) {
    throw new AppError(
      'not-found',
      `the main repository of ${options.branch}/${options.arch} has no syslinux package`,
      {
        location: index.url,
        hint: "a BIOS+UEFI stick needs syslinux of the ISO's release; use target.board: x86_64-uefi for a UEFI-only stick",
      },
    );
  }
  const { verifiedPackageFile } = await import('../apk/offline-packages.js');
  const line = `${mirror}/${options.branch}/main`;
  const file = await verifiedPackageFile(
    {
      branch: options.branch,
      arch: options.arch,
      mirror,
      cacheDir: options.cacheDir,
      offline: options.offline,
      ...mirrorJob(options),
    },
    {
      name: pkg.name,
      version: pkg.version,
      size: pkg.size,
      checksum: pkg.checksum.text,
      checksumBytes: pkg.checksum.bytes,
    },
    { name: 'main', line },
  );
  const url = apkRepositoryUrl(mirror, options.branch, 'main', options.arch, `${pkg.name}-${pkg.version}.apk`);
  const code = await withFileRange(file, (range) => bootCodeFromApk(range, displayText(url)));
  return { ...code, packageName: `${pkg.name}-${pkg.version}`, source: url };
}

/** mbr.bin and isohdppx.bin of the ISO's release, checked against a signed index. */
export async function syslinuxBootCode(options: SyslinuxSourceOptions): Promise<SyslinuxBootCode> {
  return (await fromMedia(options)) ?? fromMirror(options);
}
