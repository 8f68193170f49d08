import type { Machine } from '../model/machine.js';
import { sameIpv4Network } from './network.js';

/** A finding about a definition: where (the field path), what, and how bad. */
export interface DefinitionIssue {
  path: (string | number)[];
  message: string;
  severity: 'error' | 'warning';
}

const FORBIDDEN_ROOTS = ['bin', 'sbin', 'lib', 'proc', 'sys', 'dev', 'run'];
const FORBIDDEN_PATHS = ['lib/apk', 'var/lib/apk', 'etc/apk/arch'];

/**
 * Why a path cannot be shipped in an apkovl, or null. It must be absolute, stay inside / (no
 * `..`), and keep out of what apk and the initramfs own (the package database, /etc/apk/arch,
 * top-level bin, sbin and lib, which usr-merge changes).
 */
export function machinePathProblem(path: string): string | null {
  if (!path.startsWith('/')) return `"${path}" must be an absolute path`;
  const parts = path.split('/').filter((part) => part !== '');
  if (parts.length === 0) return 'the path is the root folder itself';
  if (parts.some((part) => part === '..' || part === '.'))
    return `"${path}" leaves its folder with . or ..; write the plain path`;
  if (/[\0\r\n]/.test(path)) return 'the path contains a control character';
  const relative = parts.join('/');
  if (parts.length > 0 && FORBIDDEN_ROOTS.includes(parts[0] as string)) {
    return `"${path}" is under /${parts[0]}, which Alpine's packages own; put it under /usr/local or /etc`;
  }
  for (const forbidden of FORBIDDEN_PATHS) {
    if (relative === forbidden || relative.startsWith(`${forbidden}/`))
      return `"${path}" belongs to apk and must not be shipped in an overlay`;
  }
  return null;
}

const SYSTEM_ACCOUNTS = [
  'root',
  'bin',
  'daemon',
  'lp',
  'sync',
  'shutdown',
  'halt',
  'mail',
  'news',
  'uucp',
  'cron',
  'ftp',
  'sshd',
  'games',
  'ntp',
  'guest',
  'nobody',
];

/** Rules that span several fields; the schema has checked each field on its own. */
export function checkMachine(machine: Machine): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const error = (path: DefinitionIssue['path'], message: string) => issues.push({ path, message, severity: 'error' });
  const warn = (path: DefinitionIssue['path'], message: string) => issues.push({ path, message, severity: 'warning' });

  const { board, arch } = machine.target;
  if (board === 'rpi' && arch === 'x86_64')
    error(['target', 'arch'], 'a Raspberry Pi is aarch64 (Pi 3 to 5), armv7 (Pi 2 and 3) or armhf (Pi 1 and Zero)');
  if ((board === 'x86_64' || board === 'x86_64-uefi') && arch !== 'x86_64')
    error(['target', 'arch'], `${board} sticks boot x86_64 only`);

  const { version, branch } = machine.alpine;
  if (version !== undefined && /^v\d+\.\d+$/.test(branch)) {
    const [major, minor] = version.split('.');
    if (branch !== `v${major}.${minor}`) error(['alpine', 'version'], `release ${version} is not on branch ${branch}`);
  }

  const interfaceNames = new Set<string>();
  const macs = new Map<string, number>();
  let wifiCount = 0;
  machine.network.interfaces.forEach((iface, index) => {
    if (interfaceNames.has(iface.name))
      error(['network', 'interfaces', index, 'name'], `the interface ${iface.name} is listed twice`);
    interfaceNames.add(iface.name);
    if (iface.mac !== undefined) {
      const first = macs.get(iface.mac);
      if (first !== undefined)
        error(
          ['network', 'interfaces', index, 'mac'],
          `the MAC address ${iface.mac} is already given to network.interfaces[${first}]`,
        );
      else macs.set(iface.mac, index);
    }
    if (iface.wifi) {
      wifiCount += 1;
      if (wifiCount > 1) error(['network', 'interfaces', index, 'wifi'], 'only one Wi-Fi interface is supported');
      iface.wifi.networks.forEach((network, networkIndex) => {
        if (network.psk === undefined)
          warn(
            ['network', 'interfaces', index, 'wifi', 'networks', networkIndex, 'psk'],
            `"${network.ssid}" is an open network (no passphrase)`,
          );
      });
    }
    const ipv4 = iface.ipv4;
    if (typeof ipv4 === 'object' && ipv4.gateway !== undefined) {
      const [address, prefix] = ipv4.address.split('/') as [string, string];
      if (!sameIpv4Network(address, ipv4.gateway, Number(prefix))) {
        warn(
          ['network', 'interfaces', index, 'ipv4', 'gateway'],
          `the gateway ${ipv4.gateway} is outside ${ipv4.address}`,
        );
      }
    }
  });
  const staticOnly =
    machine.network.interfaces.length > 0 && machine.network.interfaces.every((iface) => iface.ipv4 !== 'dhcp');
  if (staticOnly && machine.network.dns.length === 0)
    warn(['network', 'dns'], 'no interface uses DHCP and no DNS server is given: names will not resolve');

  const userNames = new Map<string, number>();
  const uids = new Map<number, number>();
  machine.users.forEach((user, index) => {
    if (userNames.has(user.name))
      error(
        ['users', index, 'name'],
        `the user ${user.name} is defined twice (first at users[${userNames.get(user.name)}])`,
      );
    else userNames.set(user.name, index);
    if (SYSTEM_ACCOUNTS.includes(user.name))
      error(['users', index, 'name'], `${user.name} is a system account of Alpine; choose another name`);
    if (user.uid !== undefined) {
      if (uids.has(user.uid))
        error(['users', index, 'uid'], `uid ${user.uid} is already used by users[${uids.get(user.uid)}]`);
      uids.set(user.uid, index);
    }
    if (user.password !== undefined && user.password_hash !== undefined)
      error(['users', index], 'give password or password_hash, not both');
  });
  if (machine.root.password !== 'locked' && machine.root.password_hash !== undefined)
    error(['root'], 'give password or password_hash, not both');

  const kiosk = machine.kiosk;
  if (kiosk !== undefined) {
    if (arch === 'armhf')
      error(['kiosk'], 'Chromium is not built for armhf (Pi 1 and Zero); use a Pi with aarch64 or armv7');
    if (board === 'rpi')
      warn(['kiosk'], 'a diskless Chromium kiosk needs a Raspberry Pi with 2 GB of RAM at least (4 GB recommended)');
    if (SYSTEM_ACCOUNTS.includes(kiosk.user))
      error(['kiosk', 'user'], `${kiosk.user} is a system account; the kiosk needs its own user`);
  }

  const ssh = machine.ssh;
  if (ssh.enable) {
    const keys =
      machine.root.ssh_authorized_keys.length +
      machine.users.reduce((sum, user) => sum + user.ssh_authorized_keys.length, 0);
    const passwords =
      ssh.password_authentication &&
      (machine.users.some((user) => user.password !== undefined && user.password !== 'locked') ||
        machine.root.password !== 'locked');
    if (keys === 0 && !passwords)
      warn(['ssh'], 'SSH is on but nobody can log in: add ssh_authorized_keys to a user or to root');
    if (ssh.permit_root_login === 'no' && machine.root.ssh_authorized_keys.length > 0)
      warn(['root', 'ssh_authorized_keys'], 'root has keys but permit_root_login is no');
  }

  const keyLists: [DefinitionIssue['path'], string[]][] = [
    [['root', 'ssh_authorized_keys'], machine.root.ssh_authorized_keys],
    ...machine.users.map((user, index): [DefinitionIssue['path'], string[]] => [
      ['users', index, 'ssh_authorized_keys'],
      user.ssh_authorized_keys,
    ]),
  ];
  for (const [path, keys] of keyLists) {
    keys.forEach((key, index) => {
      if (key.includes('EXAMPLEEXAMPLE'))
        warn([...path, index], 'this is the example key of the template: replace it with your own public key');
    });
  }

  const paths = new Map<string, number>();
  machine.files.forEach((item, index) => {
    if (!('path' in item)) return;
    if (paths.has(item.path))
      error(['files', index, 'path'], `${item.path} is also written by files[${paths.get(item.path)}]`);
    paths.set(item.path, index);
    const problem = machinePathProblem(item.path);
    if (problem !== null) error(['files', index, 'path'], problem);
  });

  const runOnceNames = new Set<string>();
  machine.run_once.forEach((entry, index) => {
    if (runOnceNames.has(entry.name))
      error(['run_once', index, 'name'], `another run_once script is called ${entry.name}`);
    runOnceNames.add(entry.name);
  });

  for (const level of ['sysinit', 'boot', 'default', 'shutdown'] as const) {
    machine.services[level].forEach((service, index) => {
      const elsewhere = (['sysinit', 'boot', 'default', 'shutdown'] as const).find(
        (other) => other !== level && machine.services[other].includes(service),
      );
      if (elsewhere !== undefined && level < elsewhere)
        warn(['services', level, index], `${service} is in both ${level} and ${elsewhere}`);
    });
  }

  if (machine.persistence.install_to_disk !== null) {
    warn(
      ['persistence', 'install_to_disk'],
      `the first boot ERASES ${machine.persistence.install_to_disk.device} and installs Alpine on it`,
    );
  }
  if (board !== 'rpi' && machine.boot.usercfg !== undefined)
    warn(['boot', 'usercfg'], 'usercfg.txt is read by the Raspberry Pi firmware only');
  return issues;
}
