import type { Machine } from '../../../shared/model/machine.js';
import { contribution, type Contribution } from './contribution.js';
import { bootMediaMount } from './media-paths.js';
import { directory, file, symlink, type OverlayEntry } from './overlay-entry.js';

/** Persistence (lbu, apk cache), run-once scripts, and installing packages the media lacks. */

/** The apk cache on the card: asked for, or implied by `alpine.offline` (the packages live there). */
export function usesApkCache(machine: Machine): boolean {
  return machine.persistence.apk_cache || machine.alpine.offline;
}

export function persistenceFiles(machine: Machine): Contribution {
  const { lbu } = machine.persistence;
  const apkCache = usesApkCache(machine);
  const mount = bootMediaMount(machine);
  const result = contribution();
  if (!lbu && !apkCache && !mount.relocated) return result;
  // Mounted read-only; lbu and apk remount it read-write when they write. With an apk cache it
  // is mounted at boot so that the initramfs and apk find the cache.
  result.entries.push(
    file('etc/fstab', `${mount.device}\t${mount.mountPoint}\tvfat\t${apkCache ? 'ro' : 'noauto,ro'} 0 0\n`),
  );
  result.entries.push(directory(mount.mountPoint.replace(/^\//, '')));
  if (lbu) {
    result.entries.push(
      file(
        'etc/lbu/lbu.conf',
        [
          '# Written by Apkovl Studio: lbu commit saves to the boot card.',
          `LBU_MEDIA=${mount.name}`,
          'DEFAULT_CIPHER=aes-256-cbc',
          '',
        ].join('\n'),
      ),
    );
  }
  if (apkCache) result.entries.push(symlink('etc/apk/cache', `${mount.mountPoint}/cache`));
  return result;
}

/** Whether `lbu commit` saves `path` without being told: apk audit --backup lists it. */
function savedByLbu(entry: OverlayEntry): boolean {
  if (!entry.path.startsWith('etc/')) return false;
  // apk protects etc/init.d with @: only its symbolic links count as configuration.
  return !(entry.path.startsWith('etc/init.d/') && entry.type === 'file');
}

/**
 * etc/apk/protected_paths.d/lbu.list, which `lbu include` writes: lbu commit saves the changed
 * files under /etc (apk audit --backup), not the home folders, the services in /etc/init.d or the
 * files under /root and /usr/local that the overlay ships. Without these lines the first commit
 * (a run-once script's, or the administrator's) would drop them from the card.
 */
export function lbuIncludeList(homes: string[], entries: OverlayEntry[]): OverlayEntry | null {
  const underHome = (path: string) => homes.some((home) => path === home || path.startsWith(`${home}/`));
  const files = entries
    .filter((entry) => entry.type !== 'directory' && !savedByLbu(entry) && !underHome(entry.path))
    .map((entry) => entry.path);
  const lines = [...new Set([...homes, ...files])].sort().map((path) => `+${path}`);
  return lines.length === 0 ? null : file('etc/apk/protected_paths.d/lbu.list', `${lines.join('\n')}\n`);
}

/**
 * The local.d script that runs /etc/run-once/<name>. Each run is recorded in
 * /etc/run-once/<name>.result (boot id, start and end time, exit code) for the first-boot
 * report; with lbu the record of the success is committed with the removal of the script, so
 * later boots still report it.
 */
function runOnceWrapper(name: string): string {
  return [
    '#!/bin/sh',
    `# Written by Apkovl Studio: runs /etc/run-once/${name} until it succeeds once, and records`,
    `# each run in /etc/run-once/${name}.result for the first-boot report.`,
    '# On a diskless machine that success is remembered only if lbu can commit it.',
    'root=$APKOVL_ROOT # empty on a real system; a fake system root in tests',
    `script=$root/etc/run-once/${name}`,
    'result=$script.result',
    `log=$root/var/log/run-once-${name}.log`,
    '[ -x "$script" ] || exit 0',
    'boot_id=$(cat "$root/proc/sys/kernel/random/boot_id" 2>/dev/null)',
    'started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)',
    `printf 'boot_id=%s\\nstarted_at=%s\\n' "$boot_id" "$started_at" >"$result"`,
    '"$script" >"$log" 2>&1',
    'exit_code=$?',
    'finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)',
    `printf 'boot_id=%s\\nstarted_at=%s\\nfinished_at=%s\\nexit_code=%s\\n' "$boot_id" "$started_at" "$finished_at" "$exit_code" >"$result"`,
    'if [ "$exit_code" -eq 0 ]; then',
    '\trm -f "$script" "$0"',
    '\tif grep -q "^LBU_MEDIA=" "$root/etc/lbu/lbu.conf" 2>/dev/null; then lbu commit; fi',
    'else',
    `\techo "run-once ${name} failed (exit $exit_code), see /var/log/run-once-${name}.log" >&2`,
    'fi',
    '',
  ].join('\n');
}

export function runOnceFiles(machine: Machine): Contribution {
  const scripts = [...machine.run_once];
  const install = machine.persistence.install_to_disk;
  if (install !== null) {
    scripts.push({
      name: 'install-to-disk',
      script: [
        '#!/bin/sh',
        `# Install Alpine to ${install.device} as a "sys" system. THIS ERASES ${install.device}.`,
        'set -e',
        `ERASE_DISKS=${install.device} setup-disk -m sys ${install.device}`,
        '',
      ].join('\n'),
    });
  }
  if (scripts.length === 0) return contribution();
  const result = contribution({ services: { default: ['local'] } });
  result.entries.push(directory('etc/run-once', 0o700));
  scripts.forEach((entry, index) => {
    const body = entry.script.startsWith('#!') ? entry.script : `#!/bin/sh\n${entry.script}`;
    result.entries.push(file(`etc/run-once/${entry.name}`, body.endsWith('\n') ? body : `${body}\n`, 0o700));
    const order = String(50 + index).padStart(2, '0');
    result.entries.push(file(`etc/local.d/${order}-run-once-${entry.name}.start`, runOnceWrapper(entry.name), 0o755));
  });
  return result;
}

/**
 * Packages on Alpine's boot media: the mkimage profile_base set and what it pulls in. Anything
 * else in /etc/apk/world cannot be installed by the initramfs of a fresh card (no network there).
 */
export const BOOT_MEDIA_PACKAGES = new Set([
  'alpine-base',
  'alpine-baselayout',
  'alpine-baselayout-data',
  'alpine-conf',
  'alpine-keys',
  'alpine-release',
  'apk-tools',
  'busybox',
  'busybox-binsh',
  'busybox-mdev-openrc',
  'busybox-openrc',
  'busybox-suid',
  'musl',
  'musl-utils',
  'openrc',
  'ifupdown-ng',
  'libc-utils',
  'scanelf',
  'ssl_client',
  'zlib',
  'apk-cron',
  'chrony',
  'dhcpcd',
  'doas',
  'e2fsprogs',
  'kbd-bkeymaps',
  'network-extras',
  'openntpd',
  'openssl',
  'openssh',
  'openssh-server',
  'openssh-client',
  'openssh-keygen',
  'openssh-sftp-server',
  'tzdata',
  'wget',
  'wpa_supplicant',
  'wireless-tools',
  'bridge',
  'bonding',
  'vlan',
  'ppp',
  'tiny-cloud',
  'tiny-cloud-nocloud',
]);

const PACKAGES_SERVICE = `#!/sbin/openrc-run
# Written by Apkovl Studio. The initramfs installs /etc/apk/world from the boot media (and the
# apk cache) only: packages found in neither are installed here, once the network is up.
description="Install the packages of /etc/apk/world that the boot media lacks"

depend() {
	need net
	after firstboot ntpd chronyd
	before local seatd
}

start() {
	missing=""
	for package in $(cat /etc/apk/world); do
		apk info -e "\${package%%[<>=~]*}" >/dev/null 2>&1 || missing="$missing $package"
	done
	[ -z "$missing" ] && return 0
	# HTTPS needs a clock that is right: a Pi without RTC starts at the package build date.
	if command -v chronyc >/dev/null 2>&1; then
		chronyc waitsync 12 1 0 5 >/dev/null 2>&1 || ewarn "The clock is not synchronised yet"
	fi
	ebegin "Installing packages the boot media lacks:$missing"
	apk update --quiet && apk add --quiet $missing
	eend $?
}
`;

/** The world packages that are not on the boot media, and the service that installs them. */
export function networkPackagesService(world: string[]): { missing: string[]; contribution: Contribution } {
  const missing = world.filter((name) => !BOOT_MEDIA_PACKAGES.has(name.replace(/[<>=~].*$/, '')));
  if (missing.length === 0) return { missing, contribution: contribution() };
  return {
    missing,
    contribution: contribution({
      entries: [file('etc/init.d/apkovl-packages', PACKAGES_SERVICE, 0o755)],
      packages: ['chrony'],
      services: { default: ['chronyd', 'apkovl-packages'] },
    }),
  };
}
