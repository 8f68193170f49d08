import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';

/**
 * /etc/passwd, /etc/group and /etc/shadow. An overlay's copies replace Alpine's whole files, so
 * they start from alpine-baselayout-data's accounts verbatim (3.20 to 3.22), then add the users.
 * Groups that packages create at boot (seat for seatd, ...) are created here with fixed ids, so
 * the package scripts' `addgroup -S` leaves them alone and the users can be members.
 */

export const BASE_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'bin:x:1:1:bin:/bin:/sbin/nologin',
  'daemon:x:2:2:daemon:/sbin:/sbin/nologin',
  'lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin',
  'sync:x:5:0:sync:/sbin:/bin/sync',
  'shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown',
  'halt:x:7:0:halt:/sbin:/sbin/halt',
  'mail:x:8:12:mail:/var/mail:/sbin/nologin',
  'news:x:9:13:news:/usr/lib/news:/sbin/nologin',
  'uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin',
  'cron:x:16:16:cron:/var/spool/cron:/sbin/nologin',
  'ftp:x:21:21::/var/lib/ftp:/sbin/nologin',
  'sshd:x:22:22:sshd:/dev/null:/sbin/nologin',
  'games:x:35:35:games:/usr/games:/sbin/nologin',
  'ntp:x:123:123:NTP:/var/empty:/sbin/nologin',
  'guest:x:405:100:guest:/dev/null:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/:/sbin/nologin',
] as const;

export const BASE_GROUP = [
  'root:x:0:root',
  'bin:x:1:root,bin,daemon',
  'daemon:x:2:root,bin,daemon',
  'sys:x:3:root,bin',
  'adm:x:4:root,daemon',
  'tty:x:5:',
  'disk:x:6:root',
  'lp:x:7:lp',
  'kmem:x:9:',
  'wheel:x:10:root',
  'floppy:x:11:root',
  'mail:x:12:mail',
  'news:x:13:news',
  'uucp:x:14:uucp',
  'cron:x:16:cron',
  'audio:x:18:',
  'cdrom:x:19:',
  'dialout:x:20:root',
  'ftp:x:21:',
  'sshd:x:22:',
  'input:x:23:',
  'tape:x:26:root',
  'video:x:27:root',
  'netdev:x:28:',
  'kvm:x:34:kvm',
  'games:x:35:',
  'shadow:x:42:',
  'www-data:x:82:',
  'users:x:100:games',
  'ntp:x:123:',
  'abuild:x:300:',
  'utmp:x:406:',
  'ping:x:999:',
  'nogroup:x:65533:',
  'nobody:x:65534:',
] as const;

export const SHADOW_GID = 42;
/** Groups packages create at boot, created here first with these ids (free in baselayout). */
const PRECREATED_GIDS = 900;

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** The shadow password field: `*` (no password, keys still work), `!` (locked) or a crypt hash. */
  hash: string;
  authorizedKeys: string[];
}

export interface Accounts {
  passwd: string;
  group: string;
  shadow: string;
  /** Users this definition adds (not the system accounts), with root first. */
  users: Account[];
  uidOf(name: string): number | undefined;
  gidOf(name: string): number | undefined;
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
}

export interface AccountOptions {
  /** SHA-512-crypt of a clear-text password for `user`. */
  hashPassword(user: string, password: string): string;
}

interface GroupRow {
  name: string;
  gid: number;
  members: string[];
}

/** Users the definition asks for, plus the kiosk user when the kiosk needs one. */
export function effectiveUsers(machine: Machine): Machine['users'] {
  const users = [...machine.users];
  const kiosk = machine.kiosk;
  if (kiosk !== undefined) {
    const kioskGroups = ['video', 'input', 'audio', 'seat'];
    const index = users.findIndex((user) => user.name === kiosk.user);
    if (index === -1) {
      users.push({ name: kiosk.user, groups: kioskGroups, shell: '/bin/sh', ssh_authorized_keys: [], doas: false });
    } else {
      const user = users[index] as Machine['users'][number];
      users[index] = { ...user, groups: [...new Set([...user.groups, ...kioskGroups])] };
    }
  }
  return users;
}

function passwordField(
  entry: { password?: string | undefined; password_hash?: string | undefined },
  user: string,
  options: AccountOptions,
): string {
  if (entry.password_hash !== undefined) return entry.password_hash;
  if (entry.password === undefined || entry.password === 'locked') return '*';
  return options.hashPassword(user, entry.password);
}

export function buildAccounts(machine: Machine, options: AccountOptions): Accounts {
  const passwdRows = BASE_PASSWD.map((line) => line.split(':'));
  const groups: GroupRow[] = BASE_GROUP.map((line) => {
    const [name, , gid, members] = line.split(':');
    return { name: name as string, gid: Number(gid), members: members ? members.split(',') : [] };
  });
  const systemUsers = new Set(passwdRows.map((row) => row[0] as string));
  const usedUids = new Set(passwdRows.map((row) => Number(row[2])));
  const usedGids = new Set(groups.map((group) => group.gid));

  const users = effectiveUsers(machine);
  const accounts: Account[] = [];
  const root: Account = {
    name: 'root',
    uid: 0,
    gid: 0,
    home: '/root',
    shell: '/bin/sh',
    hash: passwordField(machine.root, 'root', options),
    authorizedKeys: machine.root.ssh_authorized_keys,
  };
  accounts.push(root);
  for (const user of users) if (user.uid !== undefined) usedUids.add(user.uid);
  let nextUid = 1000;
  for (const user of users) {
    if (systemUsers.has(user.name)) {
      throw new AppError('invalid-input', `"${user.name}" is a system account of Alpine`, {
        location: 'users',
        hint: 'choose another user name',
      });
    }
    let uid = user.uid;
    if (uid === undefined) {
      while (usedUids.has(nextUid)) nextUid += 1;
      uid = nextUid;
      usedUids.add(uid);
    }
    let gid = uid;
    while (usedGids.has(gid)) gid += 1;
    usedGids.add(gid);
    groups.push({ name: user.name, gid, members: [] });
    accounts.push({
      name: user.name,
      uid,
      gid,
      home: `/home/${user.name}`,
      shell: user.shell,
      hash: passwordField(user, user.name, options),
      authorizedKeys: user.ssh_authorized_keys,
    });
  }

  // Memberships; groups nobody created yet are pre-created with fixed ids from 900.
  let nextPrecreated = PRECREATED_GIDS;
  for (const user of users) {
    const wanted = [...user.groups, ...(user.doas ? ['wheel'] : [])];
    for (const name of wanted) {
      let group = groups.find((row) => row.name === name);
      if (group === undefined) {
        while (usedGids.has(nextPrecreated)) nextPrecreated += 1;
        group = { name, gid: nextPrecreated, members: [] };
        usedGids.add(nextPrecreated);
        groups.push(group);
      }
      if (!group.members.includes(user.name)) group.members.push(user.name);
    }
  }

  const lines = (rows: string[]) => `${rows.join('\n')}\n`;
  const passwd = lines([
    ...BASE_PASSWD,
    ...accounts
      .slice(1)
      .map(
        (account) => `${account.name}:x:${account.uid}:${account.gid}:${account.name}:${account.home}:${account.shell}`,
      ),
  ]);
  const group = lines(groups.map((row) => `${row.name}:x:${row.gid}:${row.members.join(',')}`));
  const shadow = lines([
    ...passwdRows.map((row) => {
      const name = row[0] as string;
      return `${name}:${name === 'root' ? root.hash : '!'}::0:::::`;
    }),
    ...accounts.slice(1).map((account) => `${account.name}:${account.hash}::0:::::`),
  ]);
  const uids = new Map<string, number>([
    ...passwdRows.map((row) => [row[0] as string, Number(row[2])] as const),
    ...accounts.map((a) => [a.name, a.uid] as const),
  ]);
  const gids = new Map(groups.map((row) => [row.name, row.gid] as const));
  return {
    passwd,
    group,
    shadow,
    users: accounts,
    uidOf: (name) => uids.get(name),
    gidOf: (name) => gids.get(name),
    userName: (uid) => [...uids].find(([, value]) => value === uid)?.[0],
    groupName: (gid) => [...gids].find(([, value]) => value === gid)?.[0],
  };
}
