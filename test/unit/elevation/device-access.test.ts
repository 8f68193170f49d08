import { describe, expect, it } from 'vitest';
import { deviceAccess } from '../../../main/app/worker-command.js';

const found = (names: string[]) => (name: string) => (names.includes(name) ? `/usr/bin/${name}` : null);

describe('deviceAccess', () => {
  it('Linux: prompt when pkexec exists and the user is not root', () => {
    const access = deviceAccess({ platform: 'linux', uid: 1000, env: {}, pathLookup: found(['pkexec']) });
    expect(access.mode).toBe('prompt');
    expect(access.detail).toMatch(/administrator password \(polkit\)/);
  });

  it('Linux: privileged as root, pkexec or not', () => {
    expect(deviceAccess({ platform: 'linux', uid: 0, env: {}, pathLookup: found([]) })).toEqual({
      mode: 'privileged',
      detail: null,
    });
  });

  it('Linux: unavailable without pkexec, saying what to install and the sudo way', () => {
    const access = deviceAccess({ platform: 'linux', uid: 1000, env: {}, pathLookup: found([]) });
    expect(access.mode).toBe('unavailable');
    expect(access.detail).toMatch(/pkexec \(polkit\) is not installed/);
    expect(access.detail).toMatch(/apt install pkexec/);
    expect(access.detail).toMatch(/sudo apkovl build --device/);
  });

  it('looks pkexec up on the given PATH by default', () => {
    expect(deviceAccess({ platform: 'linux', uid: 1000, env: { PATH: '/nonexistent-apkovl' } }).mode).toBe(
      'unavailable',
    );
  });

  it('macOS asks with osascript; Windows with UAC', () => {
    expect(deviceAccess({ platform: 'darwin', uid: 501, env: {}, pathLookup: found(['osascript']) }).mode).toBe(
      'prompt',
    );
    expect(deviceAccess({ platform: 'darwin', uid: 0, env: {}, pathLookup: found([]) }).mode).toBe('privileged');
    expect(deviceAccess({ platform: 'win32', uid: undefined, env: {}, pathLookup: found([]) })).toMatchObject({
      mode: 'prompt',
      detail: expect.stringMatching(/UAC/),
    });
    expect(deviceAccess({ platform: 'freebsd', uid: 1000, env: {}, pathLookup: found([]) }).mode).toBe('unavailable');
  });
});
