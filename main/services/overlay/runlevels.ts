import type { Machine } from '../../../shared/model/machine.js';
import type { Runlevel } from './contribution.js';

/**
 * The boot services Alpine needs in every overlay that ships runlevels of its own (without
 * them: no modloop, no device manager, no drivers): what the initramfs adds for
 * .default_boot_services, written out explicitly. With udev (a kiosk, or udev asked for), the
 * set of setup-devd udev replaces mdev and hwdrivers.
 */
export const MDEV_SYSINIT = ['devfs', 'dmesg', 'mdev', 'hwdrivers', 'modloop'];
export const UDEV_SYSINIT = ['devfs', 'dmesg', 'udev', 'udev-trigger', 'udev-settle', 'modloop'];
export const BASE_BOOT = ['modules', 'sysctl', 'hostname', 'bootmisc', 'syslog', 'seedrng'];
export const BASE_SHUTDOWN = ['mount-ro', 'killprocs', 'savecache'];
const UDEV_PACKAGES = ['eudev', 'udev-init-scripts', 'udev-init-scripts-openrc'];

/** Packages a service named in the definition comes from (when not in alpine-base). */
export const SERVICE_PACKAGES: Record<string, string[]> = {
  sshd: ['openssh'],
  chronyd: ['chrony'],
  ntpd: ['openntpd'],
  wpa_supplicant: ['wpa_supplicant'],
  networking: ['ifupdown-ng'],
  dbus: ['dbus'],
  seatd: ['seatd'],
  udev: UDEV_PACKAGES,
  'udev-trigger': UDEV_PACKAGES,
  'udev-settle': UDEV_PACKAGES,
  'udev-postmount': UDEV_PACKAGES,
  loadkmap: ['kbd-bkeymaps'],
  acpid: [],
  crond: [],
  local: [],
};

export function usesUdev(machine: Machine): boolean {
  return machine.kiosk !== undefined || Object.values(machine.services).some((list) => list.includes('udev'));
}

export function baseRunlevels(machine: Machine): Record<Runlevel, string[]> {
  return {
    sysinit: usesUdev(machine) ? UDEV_SYSINIT : MDEV_SYSINIT,
    boot: BASE_BOOT,
    default: [],
    shutdown: BASE_SHUTDOWN,
  };
}
