import { AppError } from '../errors.js';
import type {
  ClassifiedDrive,
  Drive,
  DriveClassification,
  DriveContext,
  DriveReason,
  DriveReasonCode,
  DriveStatus,
  HeldPathRole,
  ReasonEffect,
} from '../model/drive.js';
import { formatBytes } from '../model/size.js';
import { displayText } from './display.js';

/**
 * Which drives may be written, and why not: pure rules, so that the CLI, the worker and the app
 * judge a drive the same way, and the worker judges it again itself.
 */

/** Etcher's LARGE_DRIVE_SIZE: a "card" this large is more likely a backup disk. */
export const LARGE_DRIVE_BYTES = 128e9;

/**
 * Mountpoints that make a drive the running system's. Beyond the usual ones: `/boot/firmware`
 * (the boot partition of Raspberry Pi OS and Ubuntu on a Pi, whose SD card is the system),
 * `/efi` (systemd's EFI system partition) and `/snap` (Raspberry Pi Imager's list).
 */
export const SYSTEM_MOUNTPOINTS: readonly string[] = [
  '/',
  '/boot',
  '/boot/efi',
  '/boot/firmware',
  '/efi',
  '/usr',
  '/home',
  '/var',
  '/snap',
];

/** Longest device string (model, label, serial, path) shown, in displayed characters. */
export const DRIVE_TEXT_LENGTH = 64;

/**
 * A string read from a device (model, label, a mount path named after a label), ready to show:
 * trimmed, every control character escaped, at most `max` displayed characters (an escape is
 * never cut in half; a cut ends with `…`).
 */
export function driveText(text: string | null | undefined, max = DRIVE_TEXT_LENGTH): string {
  const characters = Array.from((text ?? '').trim());
  let shown = '';
  for (const [index, character] of characters.entries()) {
    const escaped = displayText(character);
    const room = index === characters.length - 1 ? max : max - 1;
    if (shown.length + escaped.length > room) return `${shown}…`;
    shown += escaped;
  }
  return shown;
}

/** `Kingston DataTraveler (/dev/sdb, 29 GiB, USB)`, safe to show. */
export function driveTitle(drive: Drive): string {
  const description = driveText(drive.description) || 'unnamed drive';
  return `${description} (${driveText(drive.device)}, ${formatBytes(drive.size)}, ${driveText(drive.bus, 16)})`;
}

const roleNames: Record<HeldPathRole, string> = {
  source: 'the boot media',
  cache: 'the download cache',
  output: 'the output file',
};
const roleCodes: Record<HeldPathRole, DriveReasonCode> = {
  source: 'holds-source',
  cache: 'holds-cache',
  output: 'holds-output',
};

/** `a, b, c and 2 more`, each item already safe to show. */
function listOf(items: string[], shown = 3): string {
  if (items.length <= shown) return items.join(', ');
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}

interface Mount {
  mountpoint: string;
  partition: string;
}

function mountsOf(drive: Drive): Mount[] {
  return drive.partitions.flatMap((partition) =>
    partition.mountpoints.map((mountpoint) => ({ mountpoint, partition: partition.device })),
  );
}

const normalise = (mountpoint: string) => (mountpoint.length > 1 ? mountpoint.replace(/\/+$/, '') : mountpoint);

function isSystemMount(mount: Mount): boolean {
  return SYSTEM_MOUNTPOINTS.includes(normalise(mount.mountpoint));
}

const shownMount = (mount: Mount) => `${driveText(mount.mountpoint)} (${driveText(mount.partition)})`;

type Rule = (drive: Drive, context: DriveContext) => DriveReason[];
const reason = (code: DriveReasonCode, effect: ReasonEffect, message: string): DriveReason => ({
  code,
  effect,
  message,
});

const systemMountRule: Rule = (drive) => {
  const mounts = mountsOf(drive).filter(isSystemMount);
  if (mounts.length === 0) return [];
  return [reason('system-mount', 'hide', `holds the running system: ${listOf(mounts.map(shownMount))}`)];
};

const swapRule: Rule = (drive) => {
  const areas = [
    ...drive.partitions.filter((partition) => partition.swap).map((partition) => driveText(partition.device)),
    ...drive.swapFiles.map((file) => `the swap file ${driveText(file)}`),
  ];
  if (areas.length === 0) return [];
  return [reason('swap', 'hide', `holds swap in use: ${listOf(areas)}`)];
};

const fixedDriveRule: Rule = (drive) => {
  if (drive.kind !== 'disk') return [];
  if (!drive.removable && !drive.virtual)
    return [reason('fixed-drive', 'hide', 'is a fixed drive (not removable, not virtual): an internal disk')];
  if (drive.system) return [reason('system-reported', 'hide', 'is reported by the operating system as a system drive')];
  return [];
};

const memoryRule: Rule = (drive) =>
  drive.kind === 'memory' ? [reason('memory', 'hide', 'is a RAM disk (zram or ram), not a drive')] : [];

const readOnlyRule: Rule = (drive) =>
  drive.readOnly
    ? [reason('read-only', 'refuse', "is read-only: if it is an SD card, slide its lock switch away from 'lock'")]
    : [];

const sizeRule: Rule = (drive, context) => {
  if (drive.size === 0)
    return [
      reason('no-medium', 'refuse', 'reports a size of 0 bytes: there is no medium in it (an empty card reader?)'),
    ];
  const needed = context.neededBytes;
  if (needed === undefined || drive.size >= needed) return [];
  return [
    reason(
      'too-small',
      'refuse',
      `is too small: the card needs ${formatBytes(needed)} (${needed} bytes), the drive holds ${formatBytes(drive.size)} (${drive.size} bytes)`,
    ),
  ];
};

const heldRule: Rule = (drive, context) =>
  (context.held ?? []).flatMap(({ role, location }) => {
    const where = driveText(location.path, 120);
    if (location.kind === 'drives' && location.drives.includes(drive.device))
      return [reason(roleCodes[role], 'refuse', `holds ${roleNames[role]} (${where})`)];
    if (location.kind === 'unknown')
      return [
        reason(
          'location-unknown',
          'note',
          `may hold ${roleNames[role]} (${where}): could not tell which drive does (${driveText(location.reason, 120)}); make sure it is not this one`,
        ),
      ];
    return [];
  });

const inUseRule: Rule = (drive) => {
  const holders = [...new Set(drive.partitions.flatMap((partition) => partition.holders))];
  if (holders.length === 0) return [];
  return [
    reason(
      'in-use',
      'refuse',
      `is in use by ${listOf(holders.map((holder) => driveText(holder)))} (LVM, LUKS or RAID): close or deactivate them first`,
    ),
  ];
};

const largeRule: Rule = (drive) =>
  drive.size > LARGE_DRIVE_BYTES
    ? [
        reason(
          'large',
          'confirm',
          `is larger than 128 GB (${formatBytes(drive.size)}): more often a backup disk than a card; make sure it is the one you mean`,
        ),
      ]
    : [];

const mountedRule: Rule = (drive) => {
  const mounts = mountsOf(drive);
  if (mounts.length === 0 || mounts.some(isSystemMount)) return [];
  return [
    reason('mounted', 'note', `is mounted at ${listOf(mounts.map(shownMount))}: it will be unmounted before writing`),
  ];
};

/** Every rule, in the order their reasons are listed among reasons of the same effect. */
const rules: Rule[] = [
  systemMountRule,
  swapRule,
  fixedDriveRule,
  memoryRule,
  readOnlyRule,
  sizeRule,
  heldRule,
  inUseRule,
  largeRule,
  mountedRule,
];

const statusOf: Record<ReasonEffect, DriveStatus> = {
  hide: 'hidden',
  refuse: 'refused',
  confirm: 'warning',
  note: 'ok',
};
const severity: ReasonEffect[] = ['note', 'confirm', 'refuse', 'hide'];

/**
 * The verdict on one drive, with every reason that applies, the most serious first: the status
 * is the most serious reason's (`hidden` > `refused` > `warning` > `ok`).
 */
export function classifyDrive(drive: Drive, context: DriveContext = {}): DriveClassification {
  const reasons = rules.flatMap((rule) => rule(drive, context));
  reasons.sort((a, b) => severity.indexOf(b.effect) - severity.indexOf(a.effect));
  const worst = reasons[0];
  return { status: worst === undefined ? 'ok' : statusOf[worst.effect], reasons };
}

/** Whether a drive with this status may be written (a warning after an extra confirmation). */
export function isWritable(status: DriveStatus): boolean {
  return status === 'ok' || status === 'warning';
}

/**
 * Throws when the drive must not be written: the error names the drive and every reason. A
 * `warning` passes only with `confirmedLarge` (the caller asked the extra question).
 */
export function assertDriveWritable(drive: ClassifiedDrive, options: { confirmedLarge?: boolean } = {}): void {
  const blocking = drive.reasons.filter(
    ({ effect }) => effect === 'hide' || effect === 'refuse' || (effect === 'confirm' && !options.confirmedLarge),
  );
  if (blocking.length === 0) return;
  const confirmOnly = blocking.every(({ effect }) => effect === 'confirm');
  throw new AppError(
    'invalid-input',
    `refusing to write to ${driveTitle(drive)}: it ${blocking.map(({ message }) => message).join('; it ')}`,
    {
      location: driveText(drive.device),
      hint: confirmOnly
        ? 'confirm the large drive explicitly if it really is the card'
        : 'choose another drive: apkovl drives lists them with the reason for each',
    },
  );
}
