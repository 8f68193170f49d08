import { beforeAll, describe, expect, it } from 'vitest';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';
import { lintApkovl, lintRules, type ApkovlMember } from '../../../shared/rules/apkovl-lint.js';
import { readApkovl } from '../../../main/services/overlay/apkovl-reader.js';
import { packApkovl } from '../../../main/services/overlay/apkovl-writer.js';
import { generateOverlay } from '../../../main/services/overlay/generate.js';
import { noSources } from '../../../main/services/overlay/source-files.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs test@example';
let good: ApkovlMember[];

beforeAll(async () => {
  const parsed = parseMachineYaml(
    `version: 1\nhostname: good\ntarget: { board: rpi, arch: aarch64 }\nroot: { ssh_authorized_keys: ["${KEY}"] }\nrun_once: [ { name: hi, script: "echo hi" } ]\n`,
    null,
  );
  if (parsed.machine === null) throw new Error(JSON.stringify(parsed.issues));
  const overlay = generateOverlay(parsed.machine, { sources: noSources(), toolVersion: '0.0.0-test' });
  good = await readApkovl(await packApkovl(overlay.entries, 0), 'good.apkovl.tar.gz');
});

const text = (value: string) => new Uint8Array(Buffer.from(value));
type Mutation = (members: ApkovlMember[]) => ApkovlMember[];
const edit =
  (name: string, change: Partial<ApkovlMember>): Mutation =>
  (members) =>
    members.map((member) => (member.name === name ? { ...member, ...change } : member));
const remove =
  (test: (name: string) => boolean): Mutation =>
  (members) =>
    members.filter((member) => !test(member.name));
const add =
  (member: Partial<ApkovlMember> & { name: string }): Mutation =>
  (members) => [
    ...members,
    {
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      size: 0,
      linkname: null,
      content: text(''),
      ...member,
    },
  ];

const broken: [rule: string, what: string, mutate: Mutation, fileName?: string][] = [
  ['file-name', 'a name that is not *.apkovl.tar.gz', (members) => members, 'good.tar.gz'],
  ['file-name', 'a name that is not the host name', (members) => members, 'other.apkovl.tar.gz'],
  ['hostname', 'an invalid host name', edit('etc/hostname', { content: text('bad_host\n') })],
  ['member-names', 'a ./ prefix', edit('etc/hostname', { name: './etc/hostname' })],
  ['member-paths', 'an absolute name', add({ name: '/etc/motd' })],
  ['member-paths', 'a ..', add({ name: 'etc/../../evil' })],
  ['member-types', 'a device node', add({ name: 'etc/disk', type: 'block-device', content: null })],
  [
    'member-types',
    'a hard link to a file it does not hold',
    add({ name: 'etc/x', type: 'link', linkname: 'etc/shadow-' }),
  ],
  [
    'member-types',
    'a member written through its own symbolic link',
    (members) =>
      add({ name: 'etc/up/shadow' })(add({ name: 'etc/up', type: 'symlink', linkname: '/', content: null })(members)),
  ],
  ['member-types', 'a sparse file', add({ name: 'etc/big', type: 'sparse-file', content: null })],
  ['top-level-directories', 'a directory without /', edit('etc/', { name: 'etc' })],
  ['top-level-directories', 'a file at the top level', add({ name: 'motd' })],
  ['parent-directories', 'a folder without its own entry', remove((name) => name === 'etc/network/')],
  ['modes', 'etc/ at 0700', edit('etc/', { mode: 0o700 })],
  ['modes', 'a local.d script that is not executable', edit('etc/local.d/50-run-once-hi.start', { mode: 0o644 })],
  ['modes', 'a world-readable shadow', edit('etc/shadow', { mode: 0o644 })],
  ['modes', 'authorized_keys others can write', edit('root/.ssh/authorized_keys', { mode: 0o666 })],
  ['owners', 'an owner the overlay does not define', edit('etc/hostname', { uid: 4242 })],
  ['boot-services', 'no sysinit services', remove((name) => name.startsWith('etc/runlevels/sysinit/'))],
  [
    'runlevel-links',
    'a link to the wrong place',
    edit('etc/runlevels/boot/hostname', { linkname: '/usr/bin/hostname' }),
  ],
  [
    'runlevel-links',
    'a runlevel entry that is a file',
    edit('etc/runlevels/boot/hostname', { type: 'file', linkname: null }),
  ],
  ['service-dependencies', 'interfaces without networking', remove((name) => name === 'etc/runlevels/boot/networking')],
  ['service-dependencies', 'local.d scripts without local', remove((name) => name === 'etc/runlevels/default/local')],
  [
    'world',
    'a world without alpine-base and with a duplicate',
    edit('etc/apk/world', { content: text('openssh\nopenssh\n') }),
  ],
  ['line-endings', 'CRLF line endings', edit('etc/apk/world', { content: text('alpine-base\r\nopenssh\r\n') })],
  [
    'line-endings',
    'a byte-order mark',
    edit('etc/hostname', { content: new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('good\n')]) }),
  ],
  [
    'repositories',
    'no boot repository first',
    edit('etc/apk/repositories', { content: text('https://dl-cdn.alpinelinux.org/alpine/v3.22/main\n') }),
  ],
  ['apk-owned-paths', 'an apk database', add({ name: 'lib/apk/db/installed' })],
];

describe('apkovl lint rules', () => {
  it('are quiet on a good overlay', () => {
    expect(lintApkovl('good.apkovl.tar.gz', good)).toEqual([]);
  });

  it.each(broken.map(([rule, what, mutate, fileName]) => ({ rule, what, mutate, fileName })))(
    '$rule fires on $what',
    ({ rule, mutate, fileName }) => {
      const findings = lintApkovl(fileName ?? 'good.apkovl.tar.gz', mutate(good));
      const mine = findings.filter((found) => found.rule === rule);
      expect(mine.length, JSON.stringify(findings)).toBeGreaterThan(0);
      for (const found of mine) {
        expect(found.message.length).toBeGreaterThan(5);
        expect(found.fix.length).toBeGreaterThan(5);
      }
    },
  );

  it('every rule has a test that makes it fire', () => {
    expect(new Set(broken.map(([rule]) => rule))).toEqual(new Set(lintRules.map((rule) => rule.id)));
  });

  it('accept .default_boot_services instead of the boot service links, but not next to udev', () => {
    const withMarker = add({ name: 'etc/.default_boot_services' })(
      remove((name) => name.startsWith('etc/runlevels/sysinit/'))(good),
    );
    expect(lintApkovl('good.apkovl.tar.gz', withMarker).filter((found) => found.rule === 'boot-services')).toEqual([]);
    const withUdev = add({
      name: 'etc/runlevels/sysinit/udev',
      type: 'symlink',
      linkname: '/etc/init.d/udev',
      content: null,
    })(withMarker);
    expect(lintApkovl('good.apkovl.tar.gz', withUdev).filter((found) => found.rule === 'boot-services')).toHaveLength(
      1,
    );
  });
});
