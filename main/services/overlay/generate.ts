import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';
import { apkovlFileName } from '../../../shared/rules/hostname.js';
import { buildAccounts } from './accounts.js';
import { runlevels, type Contribution, type Runlevel } from './contribution.js';
import { derivedSalt, sha512Crypt } from './crypt.js';
import { lbuIncludeList, networkPackagesService, persistenceFiles, runOnceFiles, usesApkCache } from './first-boot.js';
import { firstBootReportFiles } from './first-boot-report.js';
import { kioskBootSettings, kioskFiles } from './kiosk.js';
import { bootMediaMount, cardLabel } from './media-paths.js';
import { networkFiles } from './network-files.js';
import { directory, file, symlink, type OverlayEntry } from './overlay-entry.js';
import { baseRunlevels, SERVICE_PACKAGES, usesUdev } from './runlevels.js';
import type { ResolvedSources } from './source-files.js';
import { accountFiles, localeFiles, sshFiles } from './system-files.js';
import { userFileEntries } from './user-files.js';

export interface GenerateOptions {
  sources: ResolvedSources;
  /** Version of Apkovl Studio, recorded by the first-boot report. */
  toolVersion: string;
  /** Secret seed of the baked SSH host key (ssh.host_keys: generate). */
  hostKeySeed?: Buffer | null;
  /** The release branch of the boot media (e.g. v3.22), which pins `latest-stable`. */
  releaseBranch?: string;
}

/** What the card needs besides the apkovl: label, usercfg.txt, kernel parameters, folders. */
export interface CardSettings {
  label: string;
  usercfg: string | null;
  cmdlineAppend: string[];
  partitionSize: string;
  /** Folders to create on the card (the apk cache). */
  directories: string[];
}

export interface GeneratedOverlay {
  hostname: string;
  fileName: string;
  /** Sorted, with every parent folder: the order they go into the tar. */
  entries: OverlayEntry[];
  world: string[];
  /** World packages that are not on the boot media (installed over the network at boot). */
  networkPackages: string[];
  card: CardSettings;
  warnings: string[];
}

function branchDirectory(machine: Machine, releaseBranch: string | undefined): string {
  if (machine.alpine.version !== undefined) {
    const [major, minor] = machine.alpine.version.split('.');
    return `v${major}.${minor}`;
  }
  if (machine.alpine.branch === 'latest-stable' && releaseBranch !== undefined) return releaseBranch;
  return machine.alpine.branch;
}

/**
 * The mirror lines of etc/apk/repositories (`<mirror>/<branch>/<repository>`, no architecture):
 * the strings apk hashes to name the cached indexes (cacheIndexName).
 */
export function mirrorRepositoryLines(machine: Machine, releaseBranch?: string): string[] {
  const branch = branchDirectory(machine, releaseBranch);
  return machine.alpine.repositories.map((repo) => `${machine.alpine.mirror.replace(/\/+$/, '')}/${branch}/${repo}`);
}

/** The branch folder of the mirror repositories (v3.22, edge, or latest-stable when nothing pins it). */
export function repositoryBranch(machine: Machine, releaseBranch?: string): string {
  return branchDirectory(machine, releaseBranch);
}

function packageName(spec: string): string {
  return spec.replace(/[<>=~].*$/, '');
}

/** Every parent folder of `entries`, mode 0755 root unless an entry gives it otherwise. */
function withParents(entries: OverlayEntry[]): OverlayEntry[] {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join('/');
      if (!byPath.has(parent)) byPath.set(parent, directory(parent, parent === 'root' ? 0o700 : 0o755));
    }
  }
  const key = (entry: OverlayEntry) => (entry.type === 'directory' ? `${entry.path}/` : entry.path);
  return [...byPath.values()].sort((left, right) => (key(left) < key(right) ? -1 : key(left) > key(right) ? 1 : 0));
}

/**
 * A machine definition as the files of its apkovl: a pure function of the definition and the
 * content it refers to. Same input, same entries.
 */
export function generateOverlay(machine: Machine, options: GenerateOptions): GeneratedOverlay {
  const warnings: string[] = [];
  const hashPassword = (user: string, password: string) =>
    sha512Crypt(password, derivedSalt(password, `${machine.hostname}/${user}`));
  const accounts = buildAccounts(machine, { hashPassword });
  if (machine.ssh.enable && machine.ssh.host_keys === 'generate' && !options.hostKeySeed) {
    throw new AppError('invalid-input', 'ssh.host_keys is generate but the secrets have no ssh_host_key_seed', {
      location: 'ssh.host_keys',
      hint: 'add ssh_host_key_seed: <32 random bytes in base64, e.g. from openssl rand -base64 32> to the secrets file',
    });
  }
  const homes = accounts.users.filter((account) => account.uid !== 0).map((account) => account.home.slice(1));
  const parts: Contribution[] = [
    networkFiles(machine),
    accountFiles(machine, accounts),
    sshFiles(machine, options.hostKeySeed ?? null),
    localeFiles(machine),
    kioskFiles(machine, accounts),
    persistenceFiles(machine),
    runOnceFiles(machine),
    firstBootReportFiles(machine, options.toolVersion),
  ];

  const services = baseRunlevels(machine);
  const levels: Record<Runlevel, string[]> = {
    sysinit: [...services.sysinit],
    boot: [...services.boot],
    default: [],
    shutdown: [...services.shutdown],
  };
  const add = (level: Runlevel, names: readonly string[]) => {
    for (const name of names) if (!levels[level].includes(name)) levels[level].push(name);
  };
  const packages = new Set<string>(['alpine-base']);
  for (const part of parts) {
    for (const level of runlevels) add(level, part.services[level] ?? []);
    for (const name of part.packages) packages.add(name);
  }
  for (const level of runlevels) {
    add(level, machine.services[level]);
    for (const service of machine.services[level])
      for (const name of SERVICE_PACKAGES[service] ?? []) packages.add(name);
  }
  if (usesUdev(machine)) for (const name of SERVICE_PACKAGES.udev ?? []) packages.add(name);
  const byName = new Map<string, string>();
  for (const spec of [...packages, ...machine.alpine.packages]) byName.set(packageName(spec), spec);
  let world = [...byName.values()].sort();

  const network = networkPackagesService(world);
  if (network.missing.length > 0 && machine.alpine.offline) {
    // The build puts every package in the card's apk cache; the initramfs installs them from there.
    warnings.push(
      `not on the boot media, taken onto the card's apk cache at build time (alpine.offline): ${network.missing.join(' ')}`,
    );
  } else if (network.missing.length > 0) {
    parts.push(network.contribution);
    for (const level of runlevels) add(level, network.contribution.services[level] ?? []);
    for (const name of network.contribution.packages) byName.set(name, name);
    world = [...byName.values()].sort();
    warnings.push(
      `not on the boot media, installed over the network at first boot${machine.persistence.apk_cache ? ' (then kept in the apk cache on the card)' : ''}: ${network.missing.join(' ')}`,
    );
  }

  const mount = bootMediaMount(machine);
  const branch = branchDirectory(machine, options.releaseBranch);
  if (branch === 'latest-stable') {
    warnings.push(
      'the mirror repositories use latest-stable: pin alpine.version (or build with the boot media) so packages match the boot media',
    );
  }
  const repositories = [`${mount.mountPoint}/apks`, ...mirrorRepositoryLines(machine, options.releaseBranch)];

  const generated: OverlayEntry[] = parts.flatMap((part) => part.entries);
  generated.push(file('etc/apk/world', `${world.join('\n')}\n`));
  generated.push(file('etc/apk/repositories', `${repositories.join('\n')}\n`));
  for (const level of runlevels) {
    for (const service of levels[level])
      generated.push(symlink(`etc/runlevels/${level}/${service}`, `/etc/init.d/${service}`));
  }

  const own = userFileEntries(machine, accounts, options.sources);
  if (machine.persistence.lbu) {
    const list = lbuIncludeList(homes, [...generated, ...own]);
    if (list !== null) generated.push(list);
  }

  // The definition's own files come last and win over generated ones, with a warning.
  const byPath = new Map<string, OverlayEntry>();
  for (const entry of generated) {
    if (byPath.has(entry.path)) throw new AppError('internal', `two generated entries for ${entry.path}`);
    byPath.set(entry.path, entry);
  }
  for (const entry of own) {
    const previous = byPath.get(entry.path);
    if (previous !== undefined && previous.type !== 'directory')
      warnings.push(`files: /${entry.path} replaces the file Apkovl Studio generates`);
    byPath.set(entry.path, entry);
  }

  const kioskBoot = kioskBootSettings(machine);
  const usercfgLines = [
    ...kioskBoot.usercfg,
    ...(machine.boot.usercfg ? [machine.boot.usercfg.replace(/\n+$/, '')] : []),
  ];
  return {
    hostname: machine.hostname,
    fileName: apkovlFileName(machine.hostname),
    entries: withParents([...byPath.values()]),
    world,
    networkPackages: network.missing,
    card: {
      label: cardLabel(machine),
      usercfg: usercfgLines.length > 0 ? `${usercfgLines.join('\n')}\n` : null,
      cmdlineAppend: [...kioskBoot.cmdline, ...machine.boot.cmdline_append],
      partitionSize: machine.boot.partition_size,
      directories: usesApkCache(machine) ? ['cache'] : [],
    },
    warnings,
  };
}
