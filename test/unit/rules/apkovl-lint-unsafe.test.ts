import { describe, expect, it } from 'vitest';
import { lintApkovl, lintRules, type ApkovlMember } from '../../../shared/rules/apkovl-lint.js';

/** Which findings make build refuse an overlay, and what the unsafe-member rules let through. */

function member(name: string, change: Partial<ApkovlMember> = {}): ApkovlMember {
  return {
    name,
    type: name.endsWith('/') ? 'directory' : 'file',
    mode: name.endsWith('/') ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    size: 0,
    linkname: null,
    content: null,
    ...change,
  };
}

const unsafe = (members: ApkovlMember[]) =>
  lintApkovl('host.apkovl.tar.gz', members)
    .filter((found) => found.unsafe)
    .map((found) => [found.rule, found.member]);

describe('unsafe members', () => {
  it('are the findings of exactly two rules: paths out of the overlay, and member types', () => {
    expect(lintRules.filter((rule) => rule.unsafe).map((rule) => rule.id)).toEqual(['member-paths', 'member-types']);
    const findings = lintApkovl('host.apkovl.tar.gz', [member('etc/'), member('/etc/motd'), member('./etc/issue')]);
    expect(findings.find((found) => found.rule === 'member-paths')?.unsafe).toBe(true);
    // A ./ prefix is an error for apk's overlay list, but nothing lands in the wrong place: not unsafe.
    expect(findings.find((found) => found.rule === 'member-names')).toMatchObject({ severity: 'error', unsafe: false });
  });

  it('let through hard links to earlier members, and symbolic links anywhere (they resolve on the machine)', () => {
    expect(
      unsafe([
        member('etc/'),
        member('etc/motd'),
        member('etc/motd.link', { type: 'link', linkname: 'etc/motd' }),
        member('etc/issue.link', { type: 'link', linkname: './etc/motd' }),
        member('etc/localtime', { type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' }),
        member('etc/runlevels/default/local', { type: 'symlink', linkname: '../../init.d/local' }),
        member('etc/fifo', { type: 'fifo' }),
      ]),
    ).toEqual([]);
  });

  it('catch hard links to later, absolute or climbing targets, and device nodes', () => {
    expect(
      unsafe([
        member('etc/'),
        member('etc/early', { type: 'link', linkname: 'etc/late' }),
        member('etc/late'),
        member('etc/abs', { type: 'link', linkname: '/etc/late' }),
        member('etc/up', { type: 'link', linkname: 'etc/../etc/late' }),
        member('etc/tty', { type: 'character-device' }),
        member('etc/sda', { type: 'block-device' }),
      ]),
    ).toEqual([
      ['member-types', 'etc/early'],
      ['member-types', 'etc/abs'],
      ['member-types', 'etc/up'],
      ['member-types', 'etc/tty'],
      ['member-types', 'etc/sda'],
    ]);
  });

  it('catch members under a symbolic link of the overlay, but not once a folder replaced the link', () => {
    expect(
      unsafe([
        member('etc/'),
        member('etc/conf', { type: 'symlink', linkname: '/' }),
        member('etc/conf/shadow'),
        member('etc/conf/'),
        member('etc/conf/ok'),
      ]),
    ).toEqual([['member-types', 'etc/conf/shadow']]);
  });

  it('catch sparse and unknown tar types, which BusyBox tar does not unpack', () => {
    expect(
      unsafe([
        member('etc/'),
        member('etc/disk.img', { type: 'sparse-file' }),
        member('etc/odd', { type: 'unknown (type flag "V")' }),
      ]),
    ).toEqual([
      ['member-types', 'etc/disk.img'],
      ['member-types', 'etc/odd'],
    ]);
  });
});
