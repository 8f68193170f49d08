import { describe, expect, it } from 'vitest';
import {
  isApkovlName,
  normalizeMemberName,
  resolveSymlinkTarget,
} from '../../../main/services/boot-media/media-path.js';

describe('member names', () => {
  it('strips ./ and empty segments', () => {
    expect(normalizeMemberName('./boot/vmlinuz-rpi')).toEqual({ ok: true, path: 'boot/vmlinuz-rpi' });
    expect(normalizeMemberName('././apks//x86_64/')).toEqual({ ok: true, path: 'apks/x86_64' });
    expect(normalizeMemberName('./')).toEqual({ ok: true, path: '' });
  });

  it('refuses absolute names and ..', () => {
    expect(normalizeMemberName('/etc/passwd')).toMatchObject({ ok: false, problem: expect.stringMatching(/absolute/) });
    expect(normalizeMemberName('../evil')).toMatchObject({ ok: false, problem: expect.stringMatching(/\.\./) });
    expect(normalizeMemberName('boot/../../evil')).toMatchObject({ ok: false });
  });
});

describe('symlink targets', () => {
  it('resolves relative targets inside the media', () => {
    expect(resolveSymlinkTarget('boot/vmlinuz', 'vmlinuz-rpi')).toEqual({ ok: true, path: 'boot/vmlinuz-rpi' });
    expect(resolveSymlinkTarget('boot/dtbs/a.dtb', '../../b.dtb')).toEqual({ ok: true, path: 'b.dtb' });
  });

  it('refuses targets that leave the media or are absolute', () => {
    expect(resolveSymlinkTarget('boot/x', '../../etc/shadow')).toMatchObject({ ok: false });
    expect(resolveSymlinkTarget('x', '/etc/shadow')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/absolute/),
    });
  });
});

describe('apkovl names', () => {
  it('matches what nlplug-findfs matches (*.apkovl.tar.gz*)', () => {
    expect(isApkovlName('alpine.apkovl.tar.gz')).toBe(true);
    expect(isApkovlName('host.apkovl.tar.gz.aes-256-cbc')).toBe(true);
    expect(isApkovlName('._host.apkovl.tar.gz')).toBe(true);
    expect(isApkovlName('host.apkovl.tar')).toBe(false);
  });
});
