import { describe, expect, it } from 'vitest';
import { compareApkovlMembers } from '../../../shared/rules/apkovl-diff.js';
import type { ApkovlMember } from '../../../shared/rules/apkovl-lint.js';

function member(name: string, overrides: Partial<ApkovlMember> = {}): ApkovlMember {
  const content = overrides.content === undefined ? new TextEncoder().encode(`${name}\n`) : overrides.content;
  return {
    name,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    size: content?.length ?? 0,
    linkname: null,
    ...overrides,
    content,
  };
}

const folder = (name: string) => member(name, { type: 'directory', mode: 0o755, content: null, size: 0 });
const link = (name: string, target: string) =>
  member(name, { type: 'symlink', mode: 0o777, content: null, size: 0, linkname: target });

describe('compareApkovlMembers', () => {
  const expected = [
    folder('etc/'),
    member('etc/hostname'),
    member('etc/shadow', { mode: 0o640, gid: 42, content: new TextEncoder().encode('root:$6$secret:::\n') }),
    link('etc/runlevels/default/sshd', '/etc/init.d/sshd'),
  ];

  it('finds nothing between equal member lists, whatever their order and ./ prefixes', () => {
    const actual = [...expected].reverse().map((each) => ({ ...each, name: `./${each.name}` }));
    expect(compareApkovlMembers(expected, actual)).toEqual([]);
  });

  it('names each difference by how: content, mode, owner, type, missing, extra; never the content', () => {
    const actual = [
      folder('etc/'),
      member('etc/hostname', { content: new TextEncoder().encode('other\n') }),
      member('etc/shadow', { mode: 0o644, gid: 0, content: new TextEncoder().encode('root:$6$other!:::\n') }),
      member('etc/runlevels/default/sshd'),
      member('etc/motd'),
    ];
    const differences = compareApkovlMembers(expected, actual);
    expect(differences).toEqual([
      { path: 'etc/hostname', how: 'content', detail: '6 bytes on the card, 13 from the definition' },
      { path: 'etc/motd', how: 'extra', detail: 'on the card, not made by the definition' },
      { path: 'etc/runlevels/default/sshd', how: 'type', detail: 'a file on the card, a symlink from the definition' },
      { path: 'etc/shadow', how: 'content', detail: 'same size, other bytes' },
      { path: 'etc/shadow', how: 'mode', detail: '0644 on the card, 0640 from the definition' },
      { path: 'etc/shadow', how: 'owner', detail: '0:0 on the card, 0:42 from the definition' },
    ]);
    expect(JSON.stringify(differences)).not.toMatch(/secret|other!/);
    expect(compareApkovlMembers(expected, actual.slice(0, 1))).toContainEqual({
      path: 'etc/hostname',
      how: 'missing',
      detail: 'made by the definition, not on the card',
    });
  });

  it('compares link targets, escaping them, and large members by their digests', () => {
    expect(compareApkovlMembers([link('a', '/etc/init.d/x')], [link('a', '/etc/init.d/\x1b[2Jx')])).toEqual([
      {
        path: 'a',
        how: 'content',
        detail: 'points to /etc/init.d/\\x1b[2Jx on the card, to /etc/init.d/x from the definition',
      },
    ]);
    const big = member('big', { content: null, size: 2 << 20, sha256: 'a'.repeat(64) });
    expect(compareApkovlMembers([big], [{ ...big }])).toEqual([]);
    expect(compareApkovlMembers([big], [{ ...big, sha256: 'b'.repeat(64) }])).toEqual([
      { path: 'big', how: 'content', detail: 'same size, other bytes' },
    ]);
    const unhashed: ApkovlMember = { ...big };
    delete unhashed.sha256;
    expect(compareApkovlMembers([big], [unhashed])).toEqual([
      { path: 'big', how: 'content', detail: 'its bytes could not be compared' },
    ]);
  });
});
