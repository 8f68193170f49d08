import { describe, expect, it } from 'vitest';
import type { Services } from '../../../main/services/index.js';
import { withApkKeys, withTrustedKey } from '../../../main/services/trusted-key.js';
import type { BuildRequest, VerifyRequest } from '../../../shared/model/requests.js';

/** Services that record what the wrapped calls were given. */
function recording() {
  const calls: { name: string; argument: unknown }[] = [];
  const record = (name: string) => (argument: unknown) => {
    calls.push({ name, argument });
    return Promise.resolve(null as never);
  };
  const services = {
    fetchRelease: record('fetchRelease'),
    cachedRelease: (query: unknown, trust: unknown) => record('cachedRelease')({ query, trust }),
    build: record('build'),
    verifyCard: record('verifyCard'),
  } as unknown as Services;
  return { services, calls };
}

const imageBuild = (overrides: Partial<BuildRequest> = {}) =>
  ({
    source: { kind: 'definition', file: 'kiosk.yml' },
    media: { kind: 'fetch', mirrors: [], offline: false },
    destination: { kind: 'image', path: 'kiosk.img' },
    card: {},
    verify: false,
    ...overrides,
  }) as unknown as BuildRequest;

describe('the worker trusting more keys (--trusted-key, --apk-key)', () => {
  it('adds the release key to every look-up that names none, and keeps one that does', async () => {
    const { services, calls } = recording();
    const trusted = withTrustedKey(services, '/keys/private.asc');
    await trusted.fetchRelease({ board: 'rpi', arch: 'aarch64' } as never);
    await trusted.fetchRelease({ board: 'rpi', arch: 'aarch64', trustedKeyFile: '/keys/other.asc' } as never);
    await trusted.cachedRelease({ board: 'rpi', arch: 'aarch64', mirrors: [] } as never);
    await trusted.build(imageBuild());
    expect(calls.map(({ argument }) => argument)).toMatchObject([
      { trustedKeyFile: '/keys/private.asc' },
      { trustedKeyFile: '/keys/other.asc' },
      { trust: { trustedKeyFile: '/keys/private.asc' } },
      { media: { kind: 'fetch', trustedKeyFile: '/keys/private.asc' } },
    ]);
  });

  it('adds apk keys to offline builds and card checks, after the ones a request names', async () => {
    const { services, calls } = recording();
    const keyed = withApkKeys(services, ['/keys/repo.rsa.pub']);
    await keyed.build(imageBuild());
    await keyed.build(
      imageBuild({ packages: { apkKeys: ['/keys/mine.rsa.pub', '/keys/repo.rsa.pub'], offline: true, mirrors: [] } }),
    );
    await keyed.verifyCard({ source: { kind: 'image', path: 'kiosk.img' } } as unknown as VerifyRequest);
    expect(calls.map(({ argument }) => argument)).toMatchObject([
      { packages: { apkKeys: ['/keys/repo.rsa.pub'], offline: false } },
      { packages: { apkKeys: ['/keys/mine.rsa.pub', '/keys/repo.rsa.pub'], offline: true } },
      { apkKeys: ['/keys/repo.rsa.pub'] },
    ]);
  });
});
