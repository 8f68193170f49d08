import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../shared/errors.js';
import { parseFirstBootReport, type FirstBootReport } from '../../../shared/model/first-boot-report.js';
import { describeFirstBootReport } from '../../../shared/model/first-boot-summary.js';

/** A report as a healthy Raspberry Pi writes it. */
const healthy = {
  format: 'apkovl-first-boot-report',
  version: 1,
  generator: { name: 'apkovl-studio', version: '0.1.0' },
  hostname: 'kiosk-hall',
  reported_at: '2026-11-28T10:03:00Z',
  booted_at: '2026-11-28T10:02:12Z',
  uptime_seconds: 48,
  board_model: 'Raspberry Pi 4 Model B Rev 1.4',
  kernel: { release: '6.12.47-0-rpi', architecture: 'aarch64' },
  alpine_release: '3.22.2',
  memory: { total_kib: 3884200, available_kib: 3301000 },
  boot_media: { mount_point: '/media/mmcblk0p1', alpine_release: 'alpine-rpi-3.22.2 251017', read_only: true },
  interfaces: [
    {
      name: 'eth0',
      state: 'up',
      mac: 'dc:a6:32:01:02:03',
      ipv4: ['192.168.1.23/24'],
      ipv6: ['fe80::dea6:32ff:fe01:203/64'],
    },
  ],
  packages: [
    { name: 'alpine-base', installed: true, version: '3.22.2-r0' },
    { name: 'chromium', installed: true, version: '142.0.7444.59-r0' },
  ],
  services: [
    { name: 'devfs', runlevel: 'sysinit', state: 'started' },
    { name: 'sshd', runlevel: 'default', state: 'started' },
  ],
  run_once: [],
  clock: { source: 'chrony', synchronized: true, detail: 'Normal' },
};

const parse = (value: unknown) => parseFirstBootReport(JSON.stringify(value));
const errorOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
};

describe('parseFirstBootReport', () => {
  it('reads a full report', () => {
    expect(parse(healthy)).toEqual(healthy);
  });

  it('reads a report that has only its identity: a system may lack everything else', () => {
    const report = parse({ format: healthy.format, version: 1, generator: healthy.generator });
    expect(report).toMatchObject({ interfaces: [], packages: [], services: [], run_once: [] });
    expect(report.board_model).toBeUndefined();
    expect(parse({ ...healthy, board_model: null, clock: null, memory: null }).board_model).toBeNull();
  });

  it('ignores fields a newer report of the same version adds', () => {
    expect(parse({ ...healthy, temperature_celsius: 51 })).not.toHaveProperty('temperature_celsius');
  });

  it('refuses another version, another file, and text that is not JSON, saying which', () => {
    const newer = errorOf(() => parse({ ...healthy, version: 2 }));
    expect(isAppError(newer) && newer.code).toBe('invalid-media');
    expect((newer as Error).message).toMatch(/version: this tool reads first-boot reports of version 1/);
    expect((errorOf(() => parse({ ...healthy, format: 'other' })) as Error).message).toMatch(/format/);
    expect((errorOf(() => parse({ ...healthy, booted_at: '28.11.2026' })) as Error).message).toMatch(
      /booted_at: an ISO 8601 UTC time/,
    );
    const broken = errorOf(() => parseFirstBootReport('{"format": "apkovl-first-boot-report",'));
    expect(isAppError(broken) && broken.location).toBe('apkovl-report.json');
    expect((broken as Error).message).toMatch(/not JSON/);
  });
});

describe('describeFirstBootReport', () => {
  const report = (changes: Partial<Record<keyof FirstBootReport, unknown>>) => parse({ ...healthy, ...changes });

  it('says in a few lines that all is well', () => {
    expect(describeFirstBootReport(parse(healthy))).toEqual([
      'booted on a Raspberry Pi 4 Model B Rev 1.4 on 2026-11-28 10:02 UTC as kiosk-hall',
      'Alpine 3.22.2, kernel 6.12.47-0-rpi aarch64, up 48 s when reported',
      'eth0 192.168.1.23',
      'all 2 packages installed',
      'all 2 services started',
      'clock synchronised (chrony)',
      'memory: 3.1 GiB available of 3.7 GiB',
    ]);
  });

  it('names what is missing, what failed and what never ran', () => {
    const lines = describeFirstBootReport(
      report({
        interfaces: [
          { name: 'eth0', state: 'up', ipv4: [], ipv6: ['2001:db8::23/64', 'fe80::1/64'] },
          { name: 'wlan0', state: 'dormant', ipv4: [], ipv6: [] },
        ],
        packages: [
          { name: 'alpine-base', installed: true, version: '3.22.2-r0' },
          { name: 'chromium', installed: false, version: null },
          { name: 'cage', installed: false, version: null },
        ],
        services: [
          { name: 'sshd', runlevel: 'default', state: 'started' },
          { name: 'chronyd', runlevel: 'default', state: 'crashed' },
        ],
        run_once: [
          { name: 'resize', status: 'failed', exit_code: 3, this_boot: true },
          { name: 'welcome', status: 'succeeded', exit_code: 0, this_boot: false },
          { name: 'later', status: 'not-run' },
        ],
        clock: { source: 'chrony', synchronized: null, detail: null },
      }),
    );
    expect(lines.slice(2)).toEqual([
      'eth0 2001:db8::23; wlan0 no address',
      '2 packages missing: chromium, cage',
      '1 service not running: chronyd crashed (1 started)',
      'run-once: resize failed (exit 3), welcome succeeded at an earlier boot, later not run',
      'clock synchronisation unknown (chrony did not answer)',
      'memory: 3.1 GiB available of 3.7 GiB',
    ]);
  });

  it('warns when the clock makes the boot time doubtful', () => {
    expect(
      describeFirstBootReport(report({ clock: { source: 'chrony', synchronized: false, detail: 'Not synchronised' } })),
    ).toEqual(
      expect.arrayContaining([
        'booted on a Raspberry Pi 4 Model B Rev 1.4 on 2026-11-28 10:02 UTC as kiosk-hall (the clock was not synchronised: the date may be wrong)',
        'clock NOT synchronised (chrony: Not synchronised)',
      ]),
    );
    // A Pi without a real-time clock starts at the date its packages were built.
    expect(describeFirstBootReport(report({ booted_at: '2025-09-30T00:00:48Z' }))[0]).toBe(
      'booted on a Raspberry Pi 4 Model B Rev 1.4 on 2025-09-30 00:00 UTC as kiosk-hall (the clock was wrong: that is before the boot media were built, on 2025-10-17)',
    );
  });

  it('copes with a report that knows little, and escapes what the card says', () => {
    const sparse = parse({ format: healthy.format, version: 1, generator: healthy.generator, hostname: 'x\u001b[2J' });
    expect(describeFirstBootReport(sparse)).toEqual([
      'booted on an unknown board as x\\x1b[2J',
      'no network interface',
    ]);
    expect(describeFirstBootReport(report({ board_model: 'Intel NUC\nbooted: fine' }))[0]).toBe(
      'booted on an Intel NUC\\nbooted: fine on 2026-11-28 10:02 UTC as kiosk-hall',
    );
    expect(describeFirstBootReport(report({ clock: { source: 'none' } }))).toContain(
      'clock: no NTP client (chrony or openntpd) to synchronise it',
    );
  });
});
