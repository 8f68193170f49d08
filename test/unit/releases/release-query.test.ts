import { describe, expect, it } from 'vitest';
import { checkReleaseQuery, compareVersions } from '../../../main/services/releases/catalog.js';

describe('release queries', () => {
  it('accepts what a mirror can have and refuses the rest as usage errors', () => {
    expect(() => checkReleaseQuery({ board: 'rpi', arch: 'armhf', branch: 'edge' })).not.toThrow();
    expect(() => checkReleaseQuery({ board: 'x86_64-uefi', arch: 'x86_64', version: '3.23.0_rc1' })).not.toThrow();
    expect(() => checkReleaseQuery({ board: 'x86_64-uefi', arch: 'armv7' })).toThrow(
      expect.objectContaining({ code: 'usage', location: '--arch' }) as Error,
    );
    for (const branch of ['foo', 'v3', '3.22', 'latest', 'v3.22/../x'])
      expect(() => checkReleaseQuery({ arch: 'aarch64', branch })).toThrow(/is not a branch name/);
    for (const version of ['3.22', 'v3.22.2', '3.22.2-r0'])
      expect(() => checkReleaseQuery({ arch: 'aarch64', version })).toThrow(/is not an exact release/);
  });

  it('orders versions as numbers, release candidates first', () => {
    const versions = ['3.22.10', '3.9.1', '3.22.2', '3.23.0', '3.23.0_rc1', '3.22.2'];
    expect(versions.sort(compareVersions)).toEqual(['3.9.1', '3.22.2', '3.22.2', '3.22.10', '3.23.0_rc1', '3.23.0']);
  });
});
