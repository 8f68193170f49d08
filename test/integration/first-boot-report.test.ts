import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateOverlay } from '../../main/services/overlay/generate.js';
import { noSources } from '../../main/services/overlay/source-files.js';
import { parseFirstBootReport, type FirstBootReport } from '../../shared/model/first-boot-report.js';
import { describeFirstBootReport } from '../../shared/model/first-boot-summary.js';
import { parseMachineYaml } from '../../shared/model/machine-yaml.js';
import {
  makeFakeRoot,
  runServiceFunction,
  unpackEntries,
  writeStub,
  type FakeRoot,
} from '../helpers/fake-alpine-root.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The first-boot report as the machine runs it: the service, program and run-once wrappers of a
 * generated overlay, run with BusyBox sh against a fake system root whose commands are stubs
 * printing what Alpine's print, the report then read back with the schema `apkovl verify` uses.
 */

const EPOCH = 1795860180; // 2026-11-28T10:03:00Z
const MODEL = 'Raspberry Pi 4 Model B Rev 1.4 "lab\\bench"\nsecond line\twith a tab and a bell \u0007';
const PASSPHRASE = 'correct horse battery';

// BusyBox 1.35 `ip -o addr show`, as captured, with the addresses changed.
const IP_ADDR = String.raw`1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.1.23/24 brd 192.168.1.255 scope global eth0\       valid_lft forever preferred_lft forever
2: eth0    inet 192.168.1.24/24 scope global secondary eth0\       valid_lft forever preferred_lft forever
2: eth0    inet6 2001:db8::23/64 scope global dynamic flags 100 \       valid_lft 86385sec preferred_lft 14385sec
2: eth0    inet6 fe80::dea6:32ff:fe01:203/64 scope link \       valid_lft forever preferred_lft forever
`;

// OpenRC 0.54 `rc-status -f ini -a` (rc-status.c print_level/print_service, FORMAT_INI).
const RC_STATUS = `[boot]
modules =  started 00:01:02 (1)
hostname =  started 00:01:02 (1)
networking =  started 00:01:00 (1)
[default]
sshd =  started 00:00:58 (1)
chronyd =  crashed 
seatd = failed
apkovl-report =  started 00:00:41 (1)
local =  started 00:00:40 (1)
[nonetwork]
local =  started 00:00:40 (1)
[shutdown]
killprocs =  stopped 
[sysinit]
devfs =  started 00:01:05 (1)
modloop =  started 00:01:04 (1)
[Dynamic hotplugged]
[Dynamic needed/wanted]
sysfs =  started 00:01:05 (1)
[Dynamic manual]
`;

// chrony 4.x `chronyc -n tracking` once synchronised.
const CHRONY_TRACKING = `Reference ID    : A29FC801 (162.159.200.1)
Stratum         : 4
Ref time (UTC)  : Sat Nov 28 10:02:40 2026
System time     : 0.000012543 seconds fast of NTP time
Last offset     : +0.000010321 seconds
RMS offset      : 0.000010321 seconds
Frequency       : 2.123 ppm slow
Residual freq   : +0.002 ppm
Skew            : 0.318 ppm
Root delay      : 0.011540 seconds
Root dispersion : 0.000561 seconds
Update interval : 64.2 seconds
Leap status     : Normal
`;

const DEFINITION = `version: 1
hostname: kiosk-hall
target: { board: rpi, arch: aarch64 }
alpine: { version: 3.22.2, packages: [chromium, cage, htop>=3.0, ifupdown-any] }
network:
  interfaces:
    - { name: eth0, ipv4: dhcp }
    - name: wlan0
      wifi: { country: DE, networks: [{ ssid: Hall, psk: "\${secret:wifi_hall}" }] }
root: { password: "\${secret:root_password}" }
run_once:
  - { name: welcome, script: "echo welcome > /dev/null" }
  - { name: resize, script: "echo 'no disk to resize' >&2; exit 3" }
persistence: { lbu: true }
`;

/** An apk database entry (lib/apk/db/installed), as apk writes it. */
function installed(name: string, version: string, provides = ''): string {
  return [
    'C:Q1dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=',
    `P:${name}`,
    `V:${version}`,
    'A:aarch64',
    'S:10240',
    'I:40960',
    `T:${name} for the test`,
    'U:https://alpinelinux.org',
    'L:MIT',
    ...(provides ? [`p:${provides}`] : []),
    '',
  ].join('\n');
}

/** A machine booted from the overlay of `definition`, up to the default runlevel. */
function bootedMachine(dir: string, definition = DEFINITION): { fake: FakeRoot; world: string[] } {
  const parsed = parseMachineYaml(definition, { wifi_hall: PASSPHRASE, root_password: 'root secret' });
  if (parsed.machine === null) throw new Error(JSON.stringify(parsed.issues));
  const overlay = generateOverlay(parsed.machine, { sources: noSources(), toolVersion: '9.8.7-test' });
  const fake = makeFakeRoot(dir);
  unpackEntries(fake, overlay.entries);

  fake.write('proc/uptime', '48.27 160.50\n');
  fake.write('proc/sys/kernel/hostname', 'kiosk-hall\n');
  fake.write('proc/sys/kernel/random/boot_id', '3f1c2b9e-5d4a-4c8e-9a71-0b6f2d8e4c11\n');
  fake.write('proc/device-tree/model', `${MODEL}\0`);
  fake.write('proc/meminfo', 'MemTotal:        3884200 kB\nMemFree:         2950000 kB\nMemAvailable:    3301000 kB\n');
  fake.write(
    'proc/mounts',
    [
      'tmpfs / tmpfs rw,relatime,mode=755 0 0',
      '/dev/mmcblk0p1 /media/mmcblk0p1 vfat ro,relatime,fmask=0022,dmask=0022,codepage=437,iocharset=utf8,shortname=mixed,errors=remount-ro 0 0',
      '/dev/loop0 /.modloop squashfs ro,relatime,errors=continue 0 0',
      '',
    ].join('\n'),
  );
  fake.write('etc/alpine-release', '3.22.2\n');
  fake.write('media/mmcblk0p1/.alpine-release', 'alpine-rpi-3.22.2 251017\n');
  fake.write('media/mmcblk0p1/kiosk-hall.apkovl.tar.gz', 'not read by the report');
  fake.write('sys/class/net/lo/address', '00:00:00:00:00:00\n');
  fake.write('sys/class/net/lo/operstate', 'unknown\n');
  fake.write('sys/class/net/eth0/address', 'dc:a6:32:01:02:03\n');
  fake.write('sys/class/net/eth0/operstate', 'up\n');
  fake.write('sys/class/net/wlan0/address', 'dc:a6:32:01:02:04\n');
  fake.write('sys/class/net/wlan0/operstate', 'down\n');
  fake.write('var/log/.keep', '');

  // Installed: every world package but chromium and cage; ifupdown-any through ifupdown-ng.
  const world = overlay.world.map((spec) => spec.replace(/[<>=~].*$/, ''));
  const database = world
    .filter((name) => !['chromium', 'cage', 'ifupdown-any', 'ifupdown-ng'].includes(name))
    .map((name) => installed(name, name === 'htop' ? '3.3.0-r0' : '1.0.0-r0'))
    .concat(installed('ifupdown-ng', '0.12.1-r7', 'ifupdown-any'));
  fake.write('lib/apk/db/installed', `${database.join('\n')}\n`);

  writeStub(
    fake,
    'date',
    `case "$*" in *-d*) exec busybox date "$@" ;; *) exec busybox date -d @${EPOCH} "$@" ;; esac`,
  );
  writeStub(fake, 'uname', 'case "$1" in -r) echo 6.12.47-0-rpi ;; -m) echo aarch64 ;; esac');
  writeStub(fake, 'ip', `cat <<'EOF'\n${IP_ADDR}EOF`);
  writeStub(fake, 'rc-status', `[ "$*" = "-f ini -a" ] || exit 1\ncat <<'EOF'\n${RC_STATUS}EOF`);
  writeStub(fake, 'chronyc', `case "$*" in *tracking*) cat <<'EOF'\n${CHRONY_TRACKING}EOF\n;; esac`);
  writeStub(fake, 'lbu', '');
  writeStub(
    fake,
    'mount',
    [
      '[ "$MOUNT_FAILS" = "$2" ] && exit 32',
      'report=no',
      '[ -f "$3/apkovl-report.json" ] && report=yes',
      'echo "  report present: $report" >>"$STUB_LOG"',
    ].join('\n'),
  );
  // A run-once script that succeeded at an earlier boot and was removed: lbu kept its record.
  fake.write(
    'etc/run-once/old.result',
    'boot_id=0a0b\nstarted_at=2026-11-20T08:00:00Z\nfinished_at=2026-11-20T08:00:05Z\nexit_code=0\n',
  );
  return { fake, world };
}

async function waitFor(file: string, seconds: number): Promise<void> {
  for (let waited = 0; waited < seconds * 10 && !existsSync(file); waited += 1)
    await new Promise((resolve) => setTimeout(resolve, 100));
}

const reportOf = (fake: FakeRoot, mount = 'media/mmcblk0p1'): FirstBootReport =>
  parseFirstBootReport(readFileSync(fake.path(`${mount}/apkovl-report.json`), 'utf8'));

let temp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  temp = makeTempDir('apkovl-report-');
});
afterEach(() => temp.cleanup());

describe('the first-boot report on a booted machine', () => {
  it('orders its service after every other service but local', () => {
    const { fake } = bootedMachine(temp.dir);
    fake.write('etc/init.d/sshd', '#!/sbin/openrc-run\n', 0o755);
    fake.write('etc/init.d/local', '#!/sbin/openrc-run\n', 0o755);
    // OpenRC's gendepends.sh sources each script from inside /etc/init.d, so `*` is every service.
    const result = runServiceFunction(fake, 'apkovl-report', 'depend');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      'after apkovl-packages apkovl-report local sshd',
      'before local',
    ]);
  });

  it('is written once local has started, with every fact right, the partition rw only meanwhile', async () => {
    const { fake } = bootedMachine(temp.dir);
    // The default runlevel: the report's service first, then local runs the run-once wrappers.
    const start = runServiceFunction(fake, 'apkovl-report', 'start');
    expect(start.status, start.stderr).toBe(0);
    expect(start.stdout).toBe('ebegin Writing the first-boot report in the background\neend 0\n');
    for (const wrapper of readdirSync(fake.path('etc/local.d')).sort()) {
      fake.run(`etc/local.d/${wrapper}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(existsSync(fake.path('media/mmcblk0p1/apkovl-report.json')), 'written before local started').toBe(false);
    fake.write('run/openrc/started/local', '');
    await waitFor(fake.path('media/mmcblk0p1/apkovl-report.json'), 60);

    const report = reportOf(fake);
    expect(report).toMatchObject({
      format: 'apkovl-first-boot-report',
      version: 1,
      generator: { name: 'apkovl-studio', version: '9.8.7-test' },
      hostname: 'kiosk-hall',
      reported_at: '2026-11-28T10:03:00Z',
      booted_at: '2026-11-28T10:02:12Z',
      uptime_seconds: 48,
      board_model: MODEL,
      kernel: { release: '6.12.47-0-rpi', architecture: 'aarch64' },
      alpine_release: '3.22.2',
      memory: { total_kib: 3884200, available_kib: 3301000 },
      boot_media: { mount_point: '/media/mmcblk0p1', alpine_release: 'alpine-rpi-3.22.2 251017', read_only: true },
      clock: { source: 'chrony', synchronized: true, detail: 'Normal' },
    });
    expect(report.interfaces).toEqual([
      {
        name: 'eth0',
        state: 'up',
        mac: 'dc:a6:32:01:02:03',
        ipv4: ['192.168.1.23/24', '192.168.1.24/24'],
        ipv6: ['2001:db8::23/64', 'fe80::dea6:32ff:fe01:203/64'],
      },
      { name: 'wlan0', state: 'down', mac: 'dc:a6:32:01:02:04', ipv4: [], ipv6: [] },
    ]);
    const packages = new Map(report.packages.map((entry) => [entry.name, entry]));
    expect(packages.get('chromium')).toEqual({ name: 'chromium', installed: false, version: null });
    expect(packages.get('cage')).toEqual({ name: 'cage', installed: false, version: null });
    expect(packages.get('htop')).toEqual({ name: 'htop', installed: true, version: '3.3.0-r0' });
    expect(packages.get('ifupdown-any')).toEqual({ name: 'ifupdown-any', installed: true, version: '0.12.1-r7' });
    expect(report.packages.filter((entry) => entry.installed !== true).map((entry) => entry.name)).toEqual([
      'cage',
      'chromium',
    ]);
    expect(report.services).toContainEqual({ name: 'chronyd', runlevel: 'default', state: 'crashed' });
    expect(report.services).toContainEqual({ name: 'seatd', runlevel: 'default', state: 'failed' });
    expect(report.services).toContainEqual({ name: 'devfs', runlevel: 'sysinit', state: 'started' });
    expect(report.services).toContainEqual({ name: 'sysfs', runlevel: 'needed', state: 'started' });
    expect(report.services.map((service) => service.runlevel)).not.toContain('shutdown');
    expect(report.services.map((service) => service.runlevel)).not.toContain('nonetwork');
    expect(report.services).toHaveLength(11);
    expect(report.run_once).toEqual([
      {
        name: 'old',
        status: 'succeeded',
        exit_code: 0,
        started_at: '2026-11-20T08:00:00Z',
        finished_at: '2026-11-20T08:00:05Z',
        this_boot: false,
      },
      {
        name: 'resize',
        status: 'failed',
        exit_code: 3,
        started_at: expect.stringMatching(/^2026-11-28T10:03:00Z$/),
        finished_at: '2026-11-28T10:03:00Z',
        this_boot: true,
      },
      {
        name: 'welcome',
        status: 'succeeded',
        exit_code: 0,
        started_at: '2026-11-28T10:03:00Z',
        finished_at: '2026-11-28T10:03:00Z',
        this_boot: true,
      },
    ]);

    // The boot partition: remounted read-write, the report written, read-only again (the
    // background job remounts it just after the report lands: wait for that, on a loaded machine).
    await expect
      .poll(() => fake.calls().some((line) => line.startsWith('mount -o remount,ro')), {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(true);
    const calls = fake.calls();
    expect(calls.filter((line) => line.startsWith('mount ') || line.startsWith('  report'))).toEqual([
      `mount -o remount,rw ${fake.path('media/mmcblk0p1')}`,
      '  report present: no',
      `mount -o remount,ro ${fake.path('media/mmcblk0p1')}`,
      '  report present: yes',
    ]);
    expect(calls).toContain('chronyc waitsync 12 0 0 10');
    expect(calls).toContain('lbu commit'); // the run-once wrapper of welcome, with lbu
    expect(readdirSync(fake.path('media/mmcblk0p1')).sort()).toEqual([
      '.alpine-release',
      'apkovl-report.json',
      'kiosk-hall.apkovl.tar.gz',
    ]);
    expect(readFileSync(fake.path('var/log/apkovl-report.log'), 'utf8')).toContain(
      'wrote /media/mmcblk0p1/apkovl-report.json',
    );
    // No secret reaches the card: not the Wi-Fi passphrase or PSK, not a password hash.
    const text = readFileSync(fake.path('media/mmcblk0p1/apkovl-report.json'), 'utf8');
    const psk = /psk=([0-9a-f]{64})/.exec(readFileSync(fake.path('etc/wpa_supplicant/wpa_supplicant.conf'), 'utf8'));
    expect(psk).not.toBeNull();
    for (const secret of [PASSPHRASE, psk![1]!, '$6$']) expect(text).not.toContain(secret);

    expect(describeFirstBootReport(report).slice(2, 6)).toEqual([
      'eth0 192.168.1.23, 192.168.1.24, 2001:db8::23; wlan0 down',
      '2 packages missing: cage, chromium',
      '2 services not running: chronyd crashed, seatd failed (9 started)',
      'run-once: old succeeded at an earlier boot, resize failed (exit 3), welcome succeeded',
    ]);
  });

  it('writes nothing and succeeds when no boot media is mounted', () => {
    const { fake } = bootedMachine(temp.dir);
    rmSync(fake.path('media/mmcblk0p1/.alpine-release'));
    const result = fake.run('usr/local/sbin/apkovl-report');
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/no boot media .* no report written/);
    expect(existsSync(fake.path('media/mmcblk0p1/apkovl-report.json'))).toBe(false);
    expect(fake.calls().filter((line) => line.startsWith('mount'))).toEqual([]);
  });

  it('leaves the partition alone when remounting it read-write fails', () => {
    const { fake } = bootedMachine(temp.dir);
    const result = fake.run('usr/local/sbin/apkovl-report', [], { MOUNT_FAILS: 'remount,rw' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot remount \/media\/mmcblk0p1 read-write/);
    expect(readdirSync(fake.path('media/mmcblk0p1')).sort()).toEqual(['.alpine-release', 'kiosk-hall.apkovl.tar.gz']);
    expect(fake.calls().filter((line) => line.startsWith('mount'))).toEqual([
      `mount -o remount,rw ${fake.path('media/mmcblk0p1')}`,
    ]);
  });

  it('finds a stick mounted elsewhere, writes without remounting one mounted read-write', () => {
    const definition = DEFINITION.replace('{ board: rpi, arch: aarch64 }', '{ board: x86_64-uefi, arch: x86_64 }');
    const { fake } = bootedMachine(temp.dir, definition);
    // The overlay expects /media/usb; this stick came up as sdb1, read-write, and apk has no database.
    fake.write('proc/mounts', 'tmpfs / tmpfs rw 0 0\n/dev/sdb1 /media/sdb1 vfat rw,relatime 0 0\n');
    fake.write('media/sdb1/.alpine-release', 'alpine-standard-3.22.2 251017\n');
    fake.write('media/sdb1/edge.apkovl.tar.gz', '');
    rmSync(fake.path('lib/apk/db/installed'));
    rmSync(fake.path('proc/device-tree'), { recursive: true });
    fake.write('sys/class/dmi/id/sys_vendor', 'QEMU\n');
    fake.write('sys/class/dmi/id/product_name', 'Standard PC (Q35 + ICH9, 2009)\n');
    const result = fake.run('usr/local/sbin/apkovl-report');
    expect(result.status, result.stderr).toBe(0);
    const report = reportOf(fake, 'media/sdb1');
    expect(report.boot_media).toEqual({
      mount_point: '/media/sdb1',
      alpine_release: 'alpine-standard-3.22.2 251017',
      read_only: false,
    });
    expect(report.board_model).toBe('QEMU Standard PC (Q35 + ICH9, 2009)');
    expect(report.packages.every((entry) => entry.installed === null)).toBe(true);
    expect(fake.calls().filter((line) => line.startsWith('mount'))).toEqual([]);
    expect(existsSync(fake.path('media/mmcblk0p1/apkovl-report.json'))).toBe(false);
  });
});
