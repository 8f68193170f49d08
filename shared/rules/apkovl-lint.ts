import { APKOVL_FILE_NAME, apkovlFileName, hostnameProblem } from './hostname.js';

/**
 * Lint rules for any apkovl, generated or hand-made: the acceptance checks of alpine-boot.md
 * §10 that concern the overlay. Each finding says what is wrong, where, and how to fix it.
 */

export interface ApkovlMember {
  /** The name as stored in the tar. */
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  linkname: string | null;
  /** Content of regular files up to 1 MiB; null otherwise. */
  content: Uint8Array | null;
  /** SHA-256 of a regular file's content (hex), whatever its size, when the reader computed it. */
  sha256?: string;
}

export interface LintFinding {
  rule: string;
  severity: 'error' | 'warning';
  /**
   * The member is unsafe to unpack (it would land outside the overlay's root, make a device
   * node, or link to files the overlay does not hold) or cannot be unpacked at all: `build`
   * refuses such an overlay. Other errors break part of the boot and are build warnings.
   */
  unsafe: boolean;
  message: string;
  member: string | null;
  fix: string;
}

interface LintContext {
  fileName: string | null;
  members: ApkovlMember[];
  /** Paths without ./ and trailing /, for lookups. */
  byPath: Map<string, ApkovlMember>;
  text: (path: string) => string | null;
  runlevel: (level: string) => string[];
}

export interface LintRule {
  id: string;
  description: string;
  /** Every finding of this rule makes the overlay unsafe: `build` refuses it. */
  unsafe?: boolean;
  check(context: LintContext): Omit<LintFinding, 'rule' | 'unsafe'>[];
}

/** Files the rules read by name: a reader keeps their content whatever else it leaves out. */
export const LINT_TEXT_FILES: ReadonlySet<string> = new Set([
  'etc/hostname',
  'etc/passwd',
  'etc/group',
  'etc/apk/world',
  'etc/apk/repositories',
]);

function clean(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** "a/b/c" -> ["a", "a/b"]. */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(1).map((_, index) => parts.slice(0, index + 1).join('/'));
}

function decode(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

const mode = (value: number) => `0${(value & 0o7777).toString(8)}`;
const finding = (severity: 'error' | 'warning', message: string, member: string | null, fix: string) => ({
  severity,
  message,
  member,
  fix,
});

const SYSTEM_DIRECTORIES = new Set([
  'etc',
  'etc/apk',
  'etc/init.d',
  'etc/conf.d',
  'etc/runlevels',
  'etc/network',
  'etc/local.d',
  'etc/ssh',
  'usr',
  'usr/local',
  'usr/local/bin',
  'usr/share',
  'var',
  'home',
  'media',
  'opt',
  'srv',
]);
const MDEV_SYSINIT = ['devfs', 'dmesg', 'mdev', 'hwdrivers', 'modloop'];
const UDEV_SYSINIT = ['devfs', 'dmesg', 'udev', 'udev-trigger', 'udev-settle', 'modloop'];
const BOOT = ['modules', 'sysctl', 'hostname', 'bootmisc', 'syslog'];
const SHUTDOWN = ['mount-ro', 'killprocs', 'savecache'];

export const lintRules: LintRule[] = [
  {
    id: 'file-name',
    description: 'The file is named <hostname>.apkovl.tar.gz after its own etc/hostname (what lbu commit looks for)',
    check({ fileName, text }) {
      if (fileName === null) return [];
      const out = [];
      if (!APKOVL_FILE_NAME.test(fileName)) {
        out.push(
          finding(
            'error',
            `"${fileName}" does not match *.apkovl.tar.gz with letters, digits, . _ - only`,
            null,
            'rename it to <hostname>.apkovl.tar.gz',
          ),
        );
      }
      const hostname = text('etc/hostname')?.split('\n')[0]?.trim();
      if (hostname && fileName !== apkovlFileName(hostname)) {
        out.push(
          finding(
            'warning',
            `the file is "${fileName}" but etc/hostname says "${hostname}"`,
            null,
            `name it ${apkovlFileName(hostname)}, or lbu commit will refuse to replace it`,
          ),
        );
      }
      return out;
    },
  },
  {
    id: 'hostname',
    description: 'etc/hostname exists and holds a valid host name',
    check({ text }) {
      const content = text('etc/hostname');
      if (content === null)
        return [
          finding('warning', 'there is no etc/hostname', 'etc/hostname', 'add etc/hostname with the machine name'),
        ];
      const name = content.split('\n')[0]?.trim() ?? '';
      const problem = hostnameProblem(name, { allowDomain: true });
      return problem === null
        ? []
        : [finding('error', `etc/hostname: ${problem}`, 'etc/hostname', 'write one valid host name')];
    },
  },
  {
    id: 'member-paths',
    description: 'Member names stay inside the overlay: not absolute, no .. (unsafe: build refuses them)',
    unsafe: true,
    check({ members }) {
      return members.flatMap((member) => {
        if (member.name.startsWith('/'))
          return [
            finding(
              'error',
              'the name is absolute: unpacked, it would replace that file of the system',
              member.name,
              'store paths relative to /, e.g. etc/hostname',
            ),
          ];
        if (member.name.split('/').includes('..'))
          return [
            finding(
              'error',
              'the name contains .., which leads out of the folder it is unpacked in',
              member.name,
              'remove the member',
            ),
          ];
        return [];
      });
    },
  },
  {
    id: 'member-names',
    description: 'Member names are written without ./',
    check({ members }) {
      return members.flatMap((member) =>
        member.name.startsWith('./')
          ? [
              finding(
                'error',
                'the name starts with ./, which BusyBox tar keeps and apk cannot parse',
                member.name,
                'pack from inside the folder without ./: tar -czf x.apkovl.tar.gz etc',
              ),
            ]
          : [],
      );
    },
  },
  {
    id: 'member-types',
    description:
      'Members are files, folders and links that stay inside the overlay: no device nodes, no hard links to files it does not hold, nothing written through its own symbolic links, no sparse or unknown tar types (unsafe: build refuses them)',
    unsafe: true,
    check({ members }) {
      const stored = new Set<string>();
      const symlinks = new Set<string>();
      const out = [];
      for (const member of members) {
        const path = clean(member.name);
        const through = ancestors(path).find((parent) => symlinks.has(parent));
        if (through !== undefined) {
          out.push(
            finding(
              'error',
              `it is unpacked through the symbolic link ${through}, which the overlay itself makes: it would land wherever that link points`,
              member.name,
              'store the member under its real path, and the link on its own',
            ),
          );
        }
        if (member.type === 'character-device' || member.type === 'block-device') {
          out.push(
            finding(
              'error',
              `a ${member.type.replace('-', ' ')}: unpacked at boot, it gives access to hardware under a name of the overlay's choosing`,
              member.name,
              'remove it; device nodes are made by devtmpfs, mdev or udev',
            ),
          );
        } else if (member.type === 'link') {
          const target = clean(member.linkname ?? '');
          if ((member.linkname ?? '').startsWith('/') || target.split('/').includes('..') || !stored.has(target)) {
            out.push(
              finding(
                'error',
                `a hard link to ${member.linkname ?? '(nothing)'}, which is not a file earlier in the overlay: it would link to a file of the system it is unpacked on`,
                member.name,
                'store the file itself, or a symbolic link',
              ),
            );
          }
        } else if (member.type === 'sparse-file' || member.type.startsWith('unknown')) {
          out.push(
            finding(
              'error',
              member.type === 'sparse-file'
                ? 'a sparse file (tar --sparse), which BusyBox tar does not unpack'
                : `a member of tar type ${member.type.replace('unknown ', '')}, which BusyBox tar does not unpack`,
              member.name,
              'pack the overlay again with tar, without --sparse',
            ),
          );
        }
        if (member.type === 'symlink') symlinks.add(path);
        else symlinks.delete(path);
        if (member.type !== 'directory') stored.add(path);
      }
      return out;
    },
  },
  {
    id: 'top-level-directories',
    description:
      'Top-level members are directories written with a trailing / (apk reads the overlay list by its last /)',
    check({ members }) {
      return members.flatMap((member) => {
        const out = [];
        if (member.type === 'directory' && !member.name.endsWith('/'))
          out.push(
            finding(
              'error',
              'a directory member without a trailing /',
              member.name,
              'pack with a tar that writes etc/ (GNU or BusyBox tar do)',
            ),
          );
        if (member.type !== 'directory' && !clean(member.name).includes('/'))
          out.push(
            finding(
              'error',
              'a file at the top level',
              member.name,
              'move it into a folder such as etc/ or usr/local/',
            ),
          );
        return out;
      });
    },
  },
  {
    id: 'parent-directories',
    description: 'Every parent folder has an entry of its own (with its mode and owner)',
    check({ members, byPath }) {
      const missing = new Set<string>();
      for (const member of members) {
        const parts = clean(member.name).split('/');
        for (let depth = 1; depth < parts.length; depth += 1) {
          const parent = parts.slice(0, depth).join('/');
          if (!byPath.has(parent)) missing.add(parent);
        }
      }
      return [...missing]
        .sort()
        .map((path) =>
          finding(
            'warning',
            'the folder has no entry of its own; BusyBox creates it with its umask',
            `${path}/`,
            'add explicit folder entries (tar without --no-recursion does)',
          ),
        );
    },
  },
  {
    id: 'modes',
    description:
      'System folders 0755, root/ 0700, init scripts and local.d/*.start executable, etc/shadow not world-readable, authorized_keys 0600',
    check({ members }) {
      return members.flatMap((member) => {
        const path = clean(member.name);
        const perms = member.mode & 0o7777;
        if (member.type === 'directory') {
          if (path === 'root' && perms !== 0o700)
            return [finding('warning', `root/ is ${mode(perms)}`, member.name, 'make it 0700')];
          if (SYSTEM_DIRECTORIES.has(path) && perms !== 0o755) {
            return [
              finding(
                'error',
                `${path}/ is ${mode(perms)}; BusyBox applies it to the existing folder`,
                member.name,
                'make it 0755',
              ),
            ];
          }
          return [];
        }
        if (member.type !== 'file') return [];
        if (
          (/^etc\/init\.d\/[^/]+$/.test(path) || /^etc\/local\.d\/[^/]+\.start$/.test(path)) &&
          (perms & 0o111) === 0
        ) {
          return [
            finding(
              'error',
              `${path} is not executable (${mode(perms)}); OpenRC will not run it`,
              member.name,
              'make it 0755',
            ),
          ];
        }
        if (path === 'etc/shadow' && (perms & 0o004) !== 0)
          return [
            finding(
              'error',
              `etc/shadow is world-readable (${mode(perms)})`,
              member.name,
              'make it 0640 (group shadow) or 0600',
            ),
          ];
        if (/(^root|^home\/[^/]+)\/\.ssh\/authorized_keys$/.test(path) && (perms & 0o077) !== 0) {
          return [
            finding(
              (perms & 0o022) !== 0 ? 'error' : 'warning',
              `${path} is ${mode(perms)}; sshd refuses keys others can write`,
              member.name,
              'make it 0600',
            ),
          ];
        }
        return [];
      });
    },
  },
  {
    id: 'owners',
    description: 'Owned by root, except files of users the overlay defines (with the ids of its own passwd and group)',
    check({ members, text }) {
      const ids = (content: string | null) =>
        new Set(
          (content ?? '')
            .split('\n')
            .map((line) => Number(line.split(':')[2]))
            .filter((id) => Number.isInteger(id)),
        );
      const passwd = text('etc/passwd');
      const uids = ids(passwd);
      const gids = ids(text('etc/group'));
      return members.flatMap((member) => {
        if (member.uid === 0 && member.gid === 0) return [];
        const path = clean(member.name);
        if (passwd !== null && member.uid !== 0 && !uids.has(member.uid))
          return [
            finding(
              'error',
              `owned by uid ${member.uid}, which etc/passwd does not define`,
              member.name,
              'use the uid of a user in etc/passwd, or root',
            ),
          ];
        if (passwd !== null && member.gid !== 0 && !gids.has(member.gid))
          return [
            finding('error', `group ${member.gid} is not in etc/group`, member.name, 'use a gid of etc/group, or root'),
          ];
        if (!path.startsWith('home/') && !(path === 'etc/shadow' && member.uid === 0)) {
          return [
            finding(
              'warning',
              `a system file owned by ${member.uid}:${member.gid}`,
              member.name,
              'system files are normally owned by root',
            ),
          ];
        }
        return [];
      });
    },
  },
  {
    id: 'boot-services',
    description:
      'Either etc/.default_boot_services or the sysinit, boot and shutdown services Alpine needs (modloop, device manager, ...)',
    check({ byPath, runlevel }) {
      if (byPath.has('etc/.default_boot_services')) {
        if (runlevel('sysinit').includes('udev'))
          return [
            finding(
              'error',
              'the .default_boot_services marker adds mdev and hwdrivers next to udev',
              'etc/.default_boot_services',
              'remove the marker and list the udev services',
            ),
          ];
        return [];
      }
      const sysinit = runlevel('sysinit');
      const wanted = sysinit.includes('udev') ? UDEV_SYSINIT : MDEV_SYSINIT;
      const missing = [
        ...wanted.filter((service) => !sysinit.includes(service)).map((service) => `sysinit/${service}`),
        ...BOOT.filter((service) => !runlevel('boot').includes(service)).map((service) => `boot/${service}`),
        ...SHUTDOWN.filter((service) => !runlevel('shutdown').includes(service)).map(
          (service) => `shutdown/${service}`,
        ),
      ];
      if (missing.length === 0) return [];
      const severity = missing.some((service) => service.startsWith('sysinit/')) ? 'error' : 'warning';
      return [
        finding(
          severity,
          `no .default_boot_services and no runlevel links for ${missing.join(', ')}: without them there are no kernel modules, drivers or /dev hotplug`,
          'etc/runlevels/',
          'add the links, or an empty etc/.default_boot_services',
        ),
      ];
    },
  },
  {
    id: 'runlevel-links',
    description: 'Runlevel entries are symbolic links to /etc/init.d/<service>',
    check({ members }) {
      return members.flatMap((member) => {
        const match = /^etc\/runlevels\/([^/]+)\/([^/]+)$/.exec(clean(member.name));
        if (!match) return [];
        const service = match[2] as string;
        if (member.type !== 'symlink')
          return [
            finding(
              'error',
              'a runlevel entry that is not a symbolic link',
              member.name,
              `ln -s /etc/init.d/${service} ${clean(member.name)}`,
            ),
          ];
        if (member.linkname !== `/etc/init.d/${service}` && member.linkname !== `../../init.d/${service}`) {
          return [
            finding(
              'error',
              `points to ${member.linkname ?? ''}, not to the service`,
              member.name,
              `point it to /etc/init.d/${service}`,
            ),
          ];
        }
        return [];
      });
    },
  },
  {
    id: 'service-dependencies',
    description:
      'networking runs when etc/network/interfaces is shipped; local runs when etc/local.d has .start scripts',
    check({ byPath, members, runlevel }) {
      const all = ['sysinit', 'boot', 'default'].flatMap((level) => runlevel(level));
      const out = [];
      if (byPath.has('etc/network/interfaces') && !all.includes('networking')) {
        out.push(
          finding(
            'error',
            'etc/network/interfaces is shipped but networking is in no runlevel: the network stays down',
            'etc/network/interfaces',
            'add etc/runlevels/boot/networking -> /etc/init.d/networking',
          ),
        );
      }
      if (
        members.some((member) => /^etc\/local\.d\/[^/]+\.start$/.test(clean(member.name))) &&
        !all.includes('local')
      ) {
        out.push(
          finding(
            'error',
            'etc/local.d has .start scripts but local is in no runlevel: they never run',
            'etc/local.d/',
            'add etc/runlevels/default/local -> /etc/init.d/local',
          ),
        );
      }
      return out;
    },
  },
  {
    id: 'world',
    description: 'etc/apk/world lists alpine-base, one package per line, no duplicates',
    check({ text }) {
      const content = text('etc/apk/world');
      if (content === null)
        return [
          finding(
            'warning',
            'there is no etc/apk/world: only alpine-base is installed',
            'etc/apk/world',
            'list the packages in etc/apk/world',
          ),
        ];
      const names = content
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      const out = [];
      if (!names.includes('alpine-base'))
        out.push(
          finding(
            'warning',
            'alpine-base is not listed (the initramfs adds it, lbu would not)',
            'etc/apk/world',
            'add alpine-base',
          ),
        );
      const seen = new Set<string>();
      for (const name of names) {
        if (seen.has(name))
          out.push(finding('warning', `${name} is listed twice`, 'etc/apk/world', 'list each package once'));
        seen.add(name);
        if (/\s/.test(name) || !/^[a-z0-9]/.test(name))
          out.push(finding('error', `"${name}" is not a package name`, 'etc/apk/world', 'one package name per line'));
      }
      return out;
    },
  },
  {
    id: 'line-endings',
    description:
      'Text files have LF line endings and no byte-order mark (CR breaks package names, scripts and interfaces)',
    check({ members }) {
      return members.flatMap((member) => {
        const content = member.content;
        if (content === null || content.includes(0)) return [];
        if (content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf)
          return [finding('error', 'the file starts with a UTF-8 byte-order mark', member.name, 'save it without BOM')];
        if (content.includes(0x0d))
          return [
            finding(
              'error',
              'the file has CR (Windows) line endings',
              member.name,
              'convert it to LF endings (dos2unix)',
            ),
          ];
        return [];
      });
    },
  },
  {
    id: 'repositories',
    description: 'etc/apk/repositories starts with the boot media repository (/media/<device>/apks)',
    check({ text }) {
      const content = text('etc/apk/repositories');
      if (content === null) return [];
      const first = content
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line !== '' && !line.startsWith('#'));
      if (first === undefined || !/^\/media\/[^/]+\/apks$/.test(first)) {
        return [
          finding(
            'warning',
            `the first repository is ${first ?? 'missing'}, not the boot media: offline boots cannot reinstall packages`,
            'etc/apk/repositories',
            'put /media/mmcblk0p1/apks (Pi) or /media/usb/apks (stick) on the first line',
          ),
        ];
      }
      return [];
    },
  },
  {
    id: 'apk-owned-paths',
    description: 'No apk database, no etc/apk/arch, no top-level bin/, sbin/ or lib/',
    check({ members }) {
      return members.flatMap((member) => {
        const path = clean(member.name);
        if (/^(lib\/apk|var\/lib\/apk)(\/|$)/.test(path) || path === 'etc/apk/arch')
          return [
            finding(
              'error',
              'apk owns this path; shipping it corrupts the package database',
              member.name,
              'remove it from the overlay',
            ),
          ];
        if (/^(bin|sbin|lib)(\/|$)/.test(path) && path.split('/').length === 1)
          return [
            finding(
              'warning',
              'a top-level bin/, sbin/ or lib/ clashes with usr-merge (Alpine 3.13+ initramfs)',
              member.name,
              'use usr/local/ instead',
            ),
          ];
        return [];
      });
    },
  },
];

/** Run every rule. `fileName` is the overlay's file name when known. */
export function lintApkovl(fileName: string | null, members: ApkovlMember[]): LintFinding[] {
  const byPath = new Map(members.map((member) => [clean(member.name), member] as const));
  const context: LintContext = {
    fileName,
    members,
    byPath,
    text: (path) => {
      const content = byPath.get(path)?.content;
      return content ? decode(content) : null;
    },
    runlevel: (level) =>
      members
        .map((member) => new RegExp(`^etc/runlevels/${level}/([^/]+)$`).exec(clean(member.name))?.[1])
        .filter((name): name is string => name !== undefined),
  };
  return lintRules.flatMap((rule) =>
    rule.check(context).map((found) => ({ rule: rule.id, ...found, unsafe: rule.unsafe === true })),
  );
}
