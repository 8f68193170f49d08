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
  check(context: LintContext): Omit<LintFinding, 'rule'>[];
}

function clean(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
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
    id: 'member-names',
    description: 'Member names are relative, without ./ and without ..',
    check({ members }) {
      return members.flatMap((member) => {
        if (member.name.startsWith('/'))
          return [
            finding('error', 'the name is absolute', member.name, 'store paths relative to /, e.g. etc/hostname'),
          ];
        if (member.name.startsWith('./'))
          return [
            finding(
              'error',
              'the name starts with ./, which BusyBox tar keeps and apk cannot parse',
              member.name,
              'pack from inside the folder without ./: tar -czf x.apkovl.tar.gz etc',
            ),
          ];
        if (member.name.split('/').includes('..'))
          return [finding('error', 'the name contains ..', member.name, 'remove the member')];
        return [];
      });
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
  return lintRules.flatMap((rule) => rule.check(context).map((found) => ({ rule: rule.id, ...found })));
}
