import path from 'node:path';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type { MediaSource, MediaSourceOptions } from '../boot-media/media-source.js';
import { mediaKindOf } from '../files/file-kind.js';
import type { ReleaseCache } from '../releases/cache.js';
import type { ReleaseFacts } from './release-check.js';

/** Boot media to compare the card's boot files with. */
export interface LocatedMedia {
  path: string;
  kind: 'tarball' | 'iso';
  source: 'given' | 'cache';
  /** Known when the cache holds it (verified); computed for given media. */
  sha256: string | null;
}

/** Media given with --boot-media: checked before the card is read (a wrong file stops verify at once). */
export async function givenMedia(file: string): Promise<LocatedMedia> {
  return { path: file, kind: await mediaKindOf(file, '--boot-media'), source: 'given', sha256: null };
}

/** The file names Alpine publishes the card's release under: `alpine-rpi-3.22.2-aarch64.tar.gz`, ... */
export function releaseFileNames(release: ReleaseFacts): string[] {
  const name = release.alpineRelease?.split(/\s+/)[0];
  if (name === undefined || name === '' || release.arch === null) return [];
  return [`${name}-${release.arch}.tar.gz`, `${name}-${release.arch}.iso`];
}

/**
 * The card's boot media in the download cache: the very file the manifest names (by its
 * SHA-256), else the newest verified file of the card's release (by name).
 */
export async function cachedMedia(
  cache: ReleaseCache,
  manifest: CardManifest | null,
  release: ReleaseFacts,
): Promise<LocatedMedia | null> {
  const sha256 = manifest?.bootMedia.sha256 ?? null;
  let found = sha256 === null ? null : await cache.lookup(sha256);
  if (found === null) {
    const names = new Set(releaseFileNames(release));
    const candidates = (await cache.list())
      .filter((entry) => names.has(entry.fileName))
      .sort((left, right) => (left.verifiedAt < right.verifiedAt ? 1 : -1));
    const newest = candidates[0];
    found = newest === undefined ? null : await cache.lookup(newest.sha256);
  }
  if (found === null) return null;
  return {
    path: found.path,
    kind: await mediaKindOf(found.path, path.basename(found.path)),
    source: 'cache',
    sha256: found.sha256,
  };
}

/** The media as a stream of entries, mapped as the builder maps them (an ISO's files as they go on a stick). */
export async function openLocatedMedia(
  media: LocatedMedia,
  options: MediaSourceOptions,
  /** A BIOS+UEFI stick: its FAT partition holds only the EFI loader and .alpine-release. */
  hybridFat = false,
): Promise<MediaSource> {
  if (media.kind === 'iso') {
    const { openIsoMedia, keepOnHybridFat } = await import('../boot-media/iso-source.js');
    return openIsoMedia(media.path, { ...options, ...(hybridFat ? { select: keepOnHybridFat } : {}) });
  }
  return (await import('../boot-media/tarball-source.js')).openTarball(media.path, options);
}
