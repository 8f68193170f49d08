import type { Services } from './index.js';

/**
 * The services with one more release-signing key trusted for every release look-up that does
 * not name its own: what `apkovl worker --trusted-key FILE` serves, for an app whose boot media
 * come from a private mirror (or a test's synthetic one). Alpine's own key stays trusted.
 */
export function withTrustedKey(services: Services, trustedKeyFile: string): Services {
  return {
    ...services,
    fetchRelease: (options) => services.fetchRelease({ trustedKeyFile, ...options }),
    cachedRelease: (query) => services.cachedRelease(query, { trustedKeyFile }),
    build: (request, job) =>
      services.build(
        request.media.kind === 'fetch' && request.media.trustedKeyFile === undefined
          ? { ...request, media: { ...request.media, trustedKeyFile } }
          : request,
        job,
      ),
  };
}

/**
 * The services with more apk signing keys trusted for every offline build and card check
 * (`apkovl worker --apk-key FILE`): a private package repository's keys, for the app. Alpine's
 * apk keys stay trusted; keys a request names itself are kept.
 */
export function withApkKeys(services: Services, apkKeys: readonly string[]): Services {
  const merged = (named: readonly string[] | undefined) => [...new Set([...(named ?? []), ...apkKeys])];
  return {
    ...services,
    build: (request, job) =>
      services.build(
        {
          ...request,
          packages: { offline: false, mirrors: [], ...request.packages, apkKeys: merged(request.packages?.apkKeys) },
        },
        job,
      ),
    verifyCard: (request, job) => services.verifyCard({ ...request, apkKeys: merged(request.apkKeys) }, job),
    machinePackages: (request, job) => services.machinePackages({ ...request, apkKeys: merged(request.apkKeys) }, job),
  };
}
