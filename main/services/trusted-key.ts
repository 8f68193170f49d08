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
