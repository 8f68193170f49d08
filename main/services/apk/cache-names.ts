import { createHash } from 'node:crypto';

/*
 * How apk names the files of its package cache (`/etc/apk/cache`, a folder on the boot media
 * for diskless machines). A machine without network finds its indexes and packages there only
 * under these exact names (apk-tools database.c: apk_repo_format_cache_index and
 * apk_pkg_format_cache_pkg, with APK_CACHE_CSUM_BYTES = 4; the same rule is documented in
 * pmbootstrap's helpers/repo.py hash()).
 */

/** Bytes of a checksum that go into a cache file name. */
const CACHE_CSUM_BYTES = 4;

function hexPrefix(bytes: Uint8Array): string {
  if (bytes.length < CACHE_CSUM_BYTES) throw new RangeError(`a checksum needs ${CACHE_CSUM_BYTES} bytes at least`);
  return Buffer.from(bytes.subarray(0, CACHE_CSUM_BYTES)).toString('hex');
}

/**
 * The cached index of one repository: `APKINDEX.<8 hex>.tar.gz`, the hex from the SHA-1 of the
 * repository's line in /etc/apk/repositories (e.g. `https://dl-cdn.alpinelinux.org/alpine/v3.22/main`,
 * without the architecture, as written there).
 */
export function cacheIndexName(repositoryUrl: string): string {
  return `APKINDEX.${hexPrefix(createHash('sha1').update(repositoryUrl, 'utf8').digest())}.tar.gz`;
}

/**
 * A cached package: `<name>-<version>.<8 hex>.apk`, the hex from the first bytes of the
 * package's checksum (the decoded `C:` field of the index: SHA-1 of its control stream).
 */
export function cachePackageName(name: string, version: string, checksum: Uint8Array): string {
  return `${name}-${version}.${hexPrefix(checksum)}.apk`;
}
