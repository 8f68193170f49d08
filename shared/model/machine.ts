import { z } from 'zod';
import { hostnameProblem } from '../rules/hostname.js';
import { keymapProblem } from '../rules/keymap.js';
import { cidrProblem, isIp, isIpv4, isIpv6, macProblem, parseMac } from '../rules/network.js';
import { MAX_MBR_PARTITION_BYTES, parseSize } from './size.js';
import { timeZoneProblem } from '../rules/time-zone.js';
import { architectures, boards } from './targets.js';

/** The bytes of a size such as 1GiB; null when it is not one (the regex reports that). */
function sizeOrNull(text: string): number | null {
  try {
    return parseSize(text);
  } catch {
    return null;
  }
}

/**
 * The machine definition, version 1: one schema for the YAML loader, the CLI, the app's form
 * and the JSON Schema for editors. Field names are the YAML's (snake_case). Cross-field rules
 * live in shared/rules/machine.ts.
 */

const apkName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._+-]*(?:[<>=~]+[0-9A-Za-z._-]+)?$/, 'not an apk package name (lower case, e.g. chromium)');
const serviceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'not an OpenRC service name');
const userName = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'use 1 to 32 lower-case letters, digits, _ or -, starting with a letter or _');
const absolutePath = z
  .string()
  .refine((path) => path.startsWith('/'), 'must be an absolute path inside the machine, starting with /');
const octalMode = z
  .string({ error: 'write the mode in octal and quoted, e.g. "0644"' })
  .regex(/^0?[0-7]{3,4}$/, 'write the mode in octal, quoted, e.g. "0644"')
  .optional();
const sshKey = z
  .string()
  .regex(
    /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/,
    'not an SSH public key (one line, e.g. "ssh-ed25519 AAAA... me@laptop")',
  );

/** A zod refinement from a rule that says what is wrong with a value, or null. */
const refineWith =
  (problemOf: (value: string) => string | null) =>
  (value: string, context: z.RefinementCtx): void => {
    const problem = problemOf(value);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  };

const hostname = z.string().superRefine(refineWith(hostnameProblem));

const cidr = (family: 4 | 6) =>
  z.string().superRefine((value, context) => {
    const problem = cidrProblem(value, family);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  });

export { architectures, boards } from './targets.js';

export const targetSchema = z.strictObject({
  board: z
    .enum(boards)
    .describe(
      'rpi: Raspberry Pi SD card or USB; x86_64: USB stick for any x86_64 PC (BIOS and UEFI); x86_64-uefi: USB stick for a UEFI PC, one writable FAT32 partition',
    ),
  arch: z
    .enum(architectures)
    .describe('rpi: aarch64 (Pi 3 to 5), armv7 (Pi 2 and 3), armhf (Pi 1, Zero); x86_64 and x86_64-uefi: x86_64'),
});

export const alpineSchema = z.strictObject({
  branch: z
    .string()
    .regex(/^(latest-stable|edge|v\d+\.\d+)$/, 'use latest-stable, edge, or a release branch such as v3.22')
    .default('latest-stable'),
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+(_rc\d+)?$/, 'use an exact release such as 3.22.2')
    .optional(),
  flavor: z.enum(['standard', 'extended', 'virt']).default('standard').describe('x86 ISO flavor'),
  mirror: z
    .url({ protocol: /^https?$/, error: 'use an http(s) URL of an Alpine mirror' })
    .default('https://dl-cdn.alpinelinux.org/alpine'),
  repositories: z
    .array(z.enum(['main', 'community', 'testing']))
    .min(1)
    .default(['main', 'community']),
  packages: z.array(apkName).default([]).describe('added to /etc/apk/world; alpine-base is always there'),
  offline: z
    .boolean()
    .default(false)
    .describe(
      'every package of the machine goes on the card (verified, in the apk cache): it boots without network; implies persistence.apk_cache',
    ),
});

const dhcp = z.literal('dhcp');
const ipv4Static = z.strictObject({
  address: cidr(4),
  gateway: z.string().refine(isIpv4, 'not an IPv4 address').optional(),
});
const ipv6Static = z.strictObject({
  address: cidr(6),
  gateway: z.string().refine(isIpv6, 'not an IPv6 address').optional(),
});

export const wifiNetworkSchema = z.strictObject({
  ssid: z.string().min(1, 'the SSID is empty').max(32, 'an SSID has at most 32 bytes'),
  psk: z
    .string()
    .refine((value) => /^[\x20-\x7e]{8,63}$/.test(value) || /^[0-9a-fA-F]{64}$/.test(value), {
      message: 'a WPA passphrase has 8 to 63 printable ASCII characters (or give the 64-hex-digit PSK)',
    })
    .optional()
    .describe(
      'passphrase, or "${secret:name}" from the secrets file; stored on the card only as the derived PSK. Omit for an open network',
    ),
  hidden: z.boolean().default(false),
  priority: z.number().int().min(0).max(1000).optional(),
});

export const interfaceSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/, 'not a network interface name (e.g. eth0, wlan0)'),
  mac: z
    .string({
      error: 'write the MAC address in quotes, e.g. "52:54:00:12:34:56" (YAML reads digits alone as a number)',
    })
    .superRefine(refineWith(macProblem))
    .transform((value) => parseMac(value) ?? value)
    .optional()
    .describe(
      'MAC address of this interface (52:54:00:12:34:56, any case, : or - or none), read as lower-case colon form: apkovl serve answers /<mac>.apkovl.tar.gz with this machine. Not written to the card',
    ),
  ipv4: z.union([dhcp, ipv4Static, z.literal('none')]).default('dhcp'),
  ipv6: z.union([z.literal('auto'), dhcp, ipv6Static, z.literal('none')]).default('none'),
  wifi: z
    .strictObject({
      country: z.string().regex(/^[A-Z]{2}$/, 'use the two-letter country code (ISO 3166), e.g. DE'),
      networks: z.array(wifiNetworkSchema).min(1, 'list at least one network'),
    })
    .optional(),
});

export const networkSchema = z.strictObject({
  interfaces: z.array(interfaceSchema).default([{ name: 'eth0', ipv4: 'dhcp', ipv6: 'none' }]),
  dns: z.array(z.string().refine(isIp, 'not an IP address')).default([]),
  search: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'not a domain name')).default([]),
});

const password = z.union([z.literal('locked'), z.string().min(1)]);

export const userSchema = z.strictObject({
  name: userName,
  uid: z.number().int().min(1000).max(60000).optional().describe('default: 1000, 1001, ... in order'),
  groups: z.array(userName).default([]),
  shell: z.string().default('/bin/sh'),
  password: password
    .optional()
    .describe(
      'plain text or "${secret:name}" (hashed at build time, SHA-512 crypt), or "locked" (default). The only fields that take secrets are this one, root.password and Wi-Fi psk',
    ),
  password_hash: z
    .string()
    .regex(/^\$(6|5|2[aby])\$/, 'use a SHA-512 crypt hash ($6$...); musl has no yescrypt')
    .optional(),
  ssh_authorized_keys: z.array(sshKey).default([]),
  doas: z.boolean().default(false).describe('may run commands as root with doas (member of wheel)'),
});

export const rootSchema = z.strictObject({
  ssh_authorized_keys: z.array(sshKey).default([]),
  password: password
    .default('locked')
    .describe('plain text or "${secret:name}" (hashed at build time, SHA-512 crypt), or "locked"'),
  password_hash: z
    .string()
    .regex(/^\$(6|5|2[aby])\$/, 'use a SHA-512 crypt hash ($6$...)')
    .optional(),
});

export const sshSchema = z.strictObject({
  enable: z.boolean().default(true),
  permit_root_login: z.enum(['no', 'prohibit-password', 'yes']).default('prohibit-password'),
  password_authentication: z.boolean().default(false),
  host_keys: z
    .enum(['first-boot', 'generate'])
    .default('first-boot')
    .describe(
      'first-boot: sshd makes keys at boot; generate: an ed25519 key derived from the secret ssh_host_key_seed, baked in',
    ),
});

export const servicesSchema = z.strictObject({
  sysinit: z.array(serviceName).default([]),
  boot: z.array(serviceName).default([]),
  default: z.array(serviceName).default([]),
  shutdown: z.array(serviceName).default([]),
});

const fileEntry = z
  .strictObject({
    path: absolutePath,
    content: z.string().optional(),
    source: z.string().min(1).optional().describe('a file beside the definition'),
    mode: octalMode,
    owner: z.union([userName, z.number().int().min(0)]).optional(),
    group: z.union([userName, z.number().int().min(0)]).optional(),
  })
  .refine((file) => (file.content === undefined) !== (file.source === undefined), {
    message: 'give either content or source',
  });
const treeEntry = z.strictObject({
  tree: z.string().min(1).describe('a folder or a .zip whose content is merged into / of the machine'),
  owner: z.union([userName, z.number().int().min(0)]).optional(),
  group: z.union([userName, z.number().int().min(0)]).optional(),
});

export const runOnceSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, _ or -'),
  script: z.string().min(1),
});

export const kioskSchema = z.strictObject({
  url: z.url({ protocol: /^(https?|file)$/, error: 'use an http(s) or file URL' }),
  rotate: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).default(0),
  user: userName.default('kiosk'),
  hide_cursor: z.boolean().default(true),
  keyboard_layout: z
    .string()
    .regex(/^[a-z]{2,3}$/)
    .optional()
    .describe('XKB layout, e.g. de'),
});

export const bootSchema = z.strictObject({
  label: z
    .string()
    .regex(/^[A-Z0-9_-]{1,11}$/, 'a FAT label: 1 to 11 upper-case letters, digits, _ or -')
    .refine((label) => label !== 'CIDATA', 'CIDATA switches on tiny-cloud at boot; choose another label')
    .optional()
    .describe('FAT volume label of the card; default: the host name in capitals'),
  usercfg: z.string().optional().describe('Raspberry Pi usercfg.txt'),
  cmdline_append: z.array(z.string().regex(/^\S+$/, 'one kernel parameter, no spaces')).default([]),
  partition_size: z
    .union([
      z.literal('whole'),
      z
        .string()
        .regex(/^\d+(\.\d+)?\s*[KMGT]i?B?$/i, 'a size such as 1GiB')
        .refine(
          (size) => (sizeOrNull(size) ?? 0) <= MAX_MBR_PARTITION_BYTES,
          `larger than an MBR can address: at most 2 TiB - 1 MiB (${MAX_MBR_PARTITION_BYTES / 2 ** 20}MiB)`,
        ),
    ])
    .default('whole'),
});

export const persistenceSchema = z.strictObject({
  lbu: z.boolean().default(false).describe('lbu commit saves /etc to the boot card'),
  apk_cache: z.boolean().default(false).describe('downloaded packages are kept on the boot card'),
  install_to_disk: z
    .strictObject({ device: z.string().regex(/^\/dev\/[a-z0-9]+$/, 'a whole disk such as /dev/sda') })
    .nullable()
    .default(null)
    .describe('run setup-disk -m sys once, ERASING that disk'),
});

export const machineSchema = z.strictObject({
  version: z.literal(1, { error: 'this tool reads machine definitions of version 1' }),
  hostname: hostname.describe('RFC 1123 label; becomes /etc/hostname and the apkovl name'),
  target: targetSchema,
  alpine: alpineSchema.prefault({}),
  timezone: z
    .string()
    .superRefine(refineWith(timeZoneProblem))
    .default('UTC')
    .describe("an IANA time zone of Alpine's tzdata, e.g. Europe/Berlin or UTC"),
  keymap: z
    .string()
    .superRefine(refineWith(keymapProblem))
    .optional()
    .describe(
      'console keymap of Alpine\'s kbd-bkeymaps, "layout variant" as setup-keymap takes it: "us us", "de de-nodeadkeys"',
    ),
  network: networkSchema.prefault({}),
  users: z.array(userSchema).default([]),
  root: rootSchema.prefault({}),
  ssh: sshSchema.prefault({}),
  services: servicesSchema.prefault({}),
  files: z.array(z.union([fileEntry, treeEntry])).default([]),
  run_once: z.array(runOnceSchema).default([]),
  kiosk: kioskSchema.optional(),
  boot: bootSchema.prefault({}),
  persistence: persistenceSchema.prefault({}),
  report: z
    .boolean()
    .default(true)
    .describe('write apkovl-report.json (boot time, board, addresses, packages, services) to the card at every boot'),
});

/** A definition as written (defaults not applied). */
export type MachineInput = z.input<typeof machineSchema>;
/** A definition with every default applied: what the generator reads. */
export type Machine = z.output<typeof machineSchema>;
export type MachineUser = Machine['users'][number];
export type MachineInterface = Machine['network']['interfaces'][number];
export type MachineFile = Extract<Machine['files'][number], { path: string }>;
export type MachineTree = Extract<Machine['files'][number], { tree: string }>;

/** JSON Schema (draft 2020-12) for editors, describing the definition as written. */
export function machineJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(machineSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://apkovl.studio/schema/machine-v1.json',
    title: 'Apkovl Studio machine definition, version 1',
  };
}
