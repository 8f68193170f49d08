/** URLs on an Alpine mirror (dl-cdn.alpinelinux.org/alpine and its copies). */

export const DEFAULT_MIRROR = 'https://dl-cdn.alpinelinux.org/alpine';

function base(mirror: string): string {
  return mirror.replace(/\/+$/, '');
}

export function releasesUrl(mirror: string, branch: string, arch: string, file: string): string {
  return `${base(mirror)}/${branch}/releases/${arch}/${file}`;
}

export function catalogUrl(mirror: string, branch: string, arch: string): string {
  return releasesUrl(mirror, branch, arch, 'latest-releases.yaml');
}
