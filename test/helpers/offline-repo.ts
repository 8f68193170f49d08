import { writeFileSync } from 'node:fs';
import type { SyntheticPackage } from './synthetic-apk-repo.js';
import { pseudoRandomBytes } from './synthetic-media.js';

/**
 * Package sets for synthetic signed repositories (synthetic-apk-repo.ts) that offline machines
 * resolve against: a small one exercising provides, versions, install_if and a conflict, and
 * one holding everything the kiosk template's world needs.
 */
export const LIBC_AARCH64 = 'so:libc.musl-aarch64.so.1';

/** The base every machine's world pulls in (alpine-base), as in Alpine's main. */
function base(libc: string): SyntheticPackage[] {
  return [
    { name: 'musl', version: '1.2.5-r10', provides: [`${libc}=1`] },
    { name: 'busybox', version: '1.37.0-r19', depends: [libc], provides: ['cmd:sh=1.37.0-r19'] },
    { name: 'openrc', version: '0.62.6-r0', depends: [libc, 'cmd:sh'] },
    { name: 'alpine-base', version: '3.22.2-r0', depends: ['busybox', 'openrc'] },
    { name: 'ifupdown-ng', version: '0.12.1-r7', depends: [libc] },
    { name: 'tzdata', version: '2025b-r0' },
  ];
}

/** main and community: `app` needs so:/cmd: providers and widget>=2; `clash` conflicts with openrc. */
export function offlineTestRepositories(): Record<string, SyntheticPackage[]> {
  const libc = LIBC_AARCH64;
  return {
    main: [
      ...base(libc),
      { name: 'libcrypto3', version: '3.5.4-r0', depends: [libc], provides: ['so:libcrypto.so.3=3'] },
      { name: 'openssh-client', version: '10.0_p1-r9', depends: ['so:libcrypto.so.3'] },
      { name: 'openssh-server', version: '10.0_p1-r9', depends: ['so:libcrypto.so.3', 'openssh-client'] },
      { name: 'openssh', version: '10.0_p1-r9', depends: ['openssh-client', 'openssh-server'] },
    ],
    community: [
      { name: 'widget', version: '2.1.0-r0', depends: [libc], provides: ['so:libwidget.so.2=2.1.0'] },
      { name: 'widget', version: '1.9.0-r0', depends: [libc], provides: ['so:libwidget.so.1=1.9.0'] },
      { name: 'shelltools', version: '1.0-r0', provides: ['cmd:shell-tool=1.0-r0'] },
      {
        name: 'app',
        version: '1.0-r0',
        depends: ['so:libwidget.so.2', 'cmd:shell-tool', 'widget>=2'],
        files: { 'usr/bin/app': Buffer.alloc(150_000, 3) },
      },
      { name: 'app-openrc', version: '1.0-r0', installIf: ['openrc', 'app=1.0-r0'] },
      { name: 'clash', version: '1.0-r0', depends: ['!openrc'] },
    ],
  };
}

/**
 * Everything the rpi-kiosk template's world resolves to (alpine-base, cage, chromium, seatd,
 * openssh, wpa_supplicant...), with chromium `chromiumBytes` large so that the card's cache has
 * a size worth showing.
 */
export function kioskRepositories(chromiumBytes = 3 << 20): Record<string, SyntheticPackage[]> {
  const libc = LIBC_AARCH64;
  const simple = (name: string, version: string, depends: string[] = [libc]): SyntheticPackage => ({
    name,
    version,
    depends,
  });
  return {
    main: [
      ...base(libc),
      { name: 'libcrypto3', version: '3.5.4-r0', depends: [libc], provides: ['so:libcrypto.so.3=3'] },
      { name: 'openssh-client', version: '10.0_p1-r9', depends: ['so:libcrypto.so.3'] },
      { name: 'openssh-server', version: '10.0_p1-r9', depends: ['so:libcrypto.so.3', 'openssh-client'] },
      { name: 'openssh', version: '10.0_p1-r9', depends: ['openssh-client', 'openssh-server'] },
      simple('chrony', '4.7-r0'),
      simple('doas', '6.8.2-r9'),
      simple('eudev', '3.2.14-r6'),
      simple('kbd-bkeymaps', '2.7.1-r1', []),
      simple('wpa_supplicant', '2.11-r3', ['so:libcrypto.so.3']),
      simple('dbus', '1.16.2-r1'),
      simple('udev-init-scripts', '35-r1', ['eudev']),
      { name: 'udev-init-scripts-openrc', version: '35-r1', installIf: ['udev-init-scripts', 'openrc'] },
      {
        name: 'mesa-dri-gallium',
        version: '25.1.9-r0',
        depends: [libc],
        files: { 'usr/lib/dri/x': pseudoRandomBytes('mesa', 400_000) },
      },
      simple('font-dejavu', '2.37-r6', []),
    ],
    community: [
      { name: 'wlroots', version: '0.18.2-r2', depends: [libc], provides: ['so:libwlroots-0.18.so=0'] },
      simple('seatd', '0.9.1-r0'),
      simple('cage', '0.2.0-r1', ['so:libwlroots-0.18.so', 'seatd']),
      simple('wlr-randr', '0.5.0-r0', ['so:libwlroots-0.18.so']),
      {
        name: 'chromium',
        version: '141.0.7390.65-r0',
        depends: [libc, 'mesa-dri-gallium', 'font-dejavu'],
        files: { 'usr/lib/chromium/chrome': pseudoRandomBytes('chromium', chromiumBytes) },
      },
    ],
  };
}

/**
 * Write an offline machine definition to `file`: `packages` in its world, from `mirror`, SSH
 * off (openssh and what it pulls in stay out of the world). A Pi (aarch64) unless `board` says.
 */
export function offlineDefinition(
  file: string,
  options: { mirror: string; packages: string[]; hostname?: string; board?: 'rpi' | 'x86_64' },
): string {
  const target = options.board === 'x86_64' ? '{ board: x86_64, arch: x86_64 }' : '{ board: rpi, arch: aarch64 }';
  writeFileSync(
    file,
    [
      'version: 1',
      `hostname: ${options.hostname ?? 'lobby'}`,
      `target: ${target}`,
      'alpine:',
      '  version: 3.22.2',
      `  mirror: ${options.mirror}`,
      '  offline: true',
      `  packages: [${options.packages.join(', ')}]`,
      'ssh: { enable: false }',
      '',
    ].join('\n'),
  );
  return file;
}
