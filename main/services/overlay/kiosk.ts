import type { Machine } from '../../../shared/model/machine.js';
import type { Accounts } from './accounts.js';
import { contribution, type Contribution } from './contribution.js';
import { file, symlink } from './overlay-entry.js';

/**
 * A full-screen browser at boot: cage (a Wayland kiosk compositor) running Chromium, started
 * by an autologin of the kiosk user on tty1 through busybox init, with seatd as seat manager and
 * eudev for input devices. The recipe of alpine-config.md §4.3.
 */

export const KIOSK_PACKAGES = [
  'eudev',
  'udev-init-scripts',
  'udev-init-scripts-openrc',
  'dbus',
  'seatd',
  'cage',
  'chromium',
  'mesa-dri-gallium',
  'font-dejavu',
  'wlr-randr',
  'chrony',
];

const HIDDEN_CURSOR_THEME = 'apkovl-hidden';
const CURSOR_NAMES = [
  'left_ptr',
  'default',
  'pointer',
  'hand1',
  'hand2',
  'text',
  'xterm',
  'watch',
  'wait',
  'progress',
  'crosshair',
  'grabbing',
  'grab',
];

/** A 1x1 fully transparent Xcursor image (the format libXcursor and libwayland-cursor read). */
export function transparentXcursor(): Buffer {
  const nominal = 24;
  const header = Buffer.alloc(16 + 12);
  header.write('Xcur', 0, 'latin1');
  header.writeUInt32LE(16, 4); // header size
  header.writeUInt32LE(0x00010000, 8); // version
  header.writeUInt32LE(1, 12); // table of contents: one entry
  header.writeUInt32LE(0xfffd0002, 16); // type: image
  header.writeUInt32LE(nominal, 20);
  header.writeUInt32LE(28, 24); // position of the image chunk
  const image = Buffer.alloc(36 + 4);
  const fields = [36, 0xfffd0002, nominal, 1, 1, 1, 0, 0, 0];
  fields.forEach((value, index) => image.writeUInt32LE(value >>> 0, index * 4));
  // one ARGB pixel, all zero: transparent
  return Buffer.concat([header, image]);
}

export function kioskFiles(machine: Machine, accounts: Accounts): Contribution {
  const kiosk = machine.kiosk;
  if (kiosk === undefined) return contribution();
  const uid = accounts.uidOf(kiosk.user) ?? 1000;
  const gid = accounts.gidOf(kiosk.user) ?? uid;
  const home = `home/${kiosk.user}`;

  const inittab = [
    '# /etc/inittab, written by Apkovl Studio: tty1 logs the kiosk user in, whose .profile',
    '# starts the browser; the other consoles keep a login prompt.',
    '::sysinit:/sbin/openrc sysinit',
    '::sysinit:/sbin/openrc boot',
    '::wait:/sbin/openrc default',
    '',
    `tty1::respawn:/bin/login -f ${kiosk.user}`,
    'tty2::respawn:/sbin/getty 38400 tty2',
    'tty3::respawn:/sbin/getty 38400 tty3',
    '',
    '::ctrlaltdel:/sbin/reboot',
    '::shutdown:/sbin/openrc shutdown',
  ];
  const environment = ['XDG_SESSION_TYPE=wayland', 'LIBSEAT_BACKEND=seatd'];
  if (kiosk.keyboard_layout) environment.push(`XKB_DEFAULT_LAYOUT=${kiosk.keyboard_layout}`);
  if (kiosk.hide_cursor) environment.push(`XCURSOR_THEME=${HIDDEN_CURSOR_THEME}`);
  const profile = [
    '# Written by Apkovl Studio. On tty1 this account runs the kiosk and never a shell:',
    '# when the browser ends, the session ends and init logs in again.',
    'if [ -z "$WAYLAND_DISPLAY" ] && [ "$(tty)" = /dev/tty1 ]; then',
    '\texport XDG_RUNTIME_DIR="/tmp/$(id -u)-runtime-dir"',
    '\tmkdir -pm 0700 "$XDG_RUNTIME_DIR"',
    `\texport ${environment.join(' ')}`,
    '\tdbus-run-session -- cage -d -- /usr/local/bin/kiosk-browser',
    '\tsleep 2',
    '\texit',
    'fi',
  ];
  const browser = ['#!/bin/sh', '# Written by Apkovl Studio: the kiosk browser, run by cage.'];
  if (kiosk.rotate !== 0) {
    browser.push(
      '# Rotate every output (wlroots ignores the firmware and kernel rotation settings).',
      `for output in $(wlr-randr | awk '/^[^ ]/ { print $1 }'); do`,
      `\twlr-randr --output "$output" --transform ${kiosk.rotate}`,
      'done',
    );
  }
  browser.push(
    'exec chromium-browser --kiosk --noerrdialogs --no-first-run --incognito \\',
    '\t--check-for-update-interval=31536000 --ozone-platform=wayland \\',
    `\t'${kiosk.url.replace(/'/g, "'\\''")}'`,
  );

  const result = contribution({
    packages: KIOSK_PACKAGES,
    services: { default: ['udev-postmount', 'dbus', 'seatd', 'chronyd'] },
    entries: [
      file('etc/inittab', `${inittab.join('\n')}\n`),
      file(`${home}/.profile`, `${profile.join('\n')}\n`, 0o644, uid, gid),
      file('usr/local/bin/kiosk-browser', `${browser.join('\n')}\n`, 0o755),
    ],
  });
  if (kiosk.hide_cursor) {
    const themeDir = `usr/share/icons/${HIDDEN_CURSOR_THEME}`;
    result.entries.push(
      file(
        `${themeDir}/index.theme`,
        `[Icon Theme]\nName=${HIDDEN_CURSOR_THEME}\nComment=Transparent cursor for kiosks (Apkovl Studio)\n`,
      ),
    );
    result.entries.push(file(`${themeDir}/cursors/left_ptr`, transparentXcursor()));
    for (const name of CURSOR_NAMES.filter((cursor) => cursor !== 'left_ptr')) {
      result.entries.push(symlink(`${themeDir}/cursors/${name}`, 'left_ptr'));
    }
  }
  return result;
}

/** Raspberry Pi settings a kiosk needs on the card: the KMS display driver, no console blanking. */
export function kioskBootSettings(machine: Machine): { usercfg: string[]; cmdline: string[] } {
  if (machine.kiosk === undefined) return { usercfg: [], cmdline: [] };
  return {
    usercfg: machine.target.board === 'rpi' ? ['dtoverlay=vc4-kms-v3d', 'disable_overscan=1'] : [],
    cmdline: ['consoleblank=0'],
  };
}
