import { stringify } from 'yaml';
import type { MachineInput } from '../shared/model/machine.js';
import { validateMachine, type LocatedIssue } from '../shared/model/machine-yaml.js';
import type { Board } from '../shared/model/targets.js';

/**
 * The app's machine form: a few common fields, turned into the same definition a YAML file
 * holds and checked by the same schema and rules the CLI uses. The Wi-Fi passphrase goes to
 * the secrets file, referenced as ${secret:...}, never into the definition.
 */
export interface MachineFormState {
  hostname: string;
  board: Board;
  arch: string;
  version: string;
  timezone: string;
  ethernet: boolean;
  wifiSsid: string;
  wifiPassphrase: string;
  wifiCountry: string;
  userName: string;
  sshKey: string;
  doas: boolean;
  kiosk: boolean;
  kioskUrl: string;
  rotate: string;
  apkCache: boolean;
  lbu: boolean;
}

export const emptyMachineForm: MachineFormState = {
  hostname: '',
  board: 'rpi',
  arch: 'aarch64',
  version: '',
  timezone: 'UTC',
  ethernet: true,
  wifiSsid: '',
  wifiPassphrase: '',
  wifiCountry: '',
  userName: 'admin',
  sshKey: '',
  doas: true,
  kiosk: false,
  kioskUrl: '',
  rotate: '0',
  apkCache: false,
  lbu: false,
};

export type MachineField = keyof MachineFormState;

const WIFI_SECRET = 'wifi_passphrase';

/** The definition (as written in YAML) and its secrets. */
export function toDefinition(form: MachineFormState): { input: MachineInput; secrets: Record<string, string> } {
  const interfaces: NonNullable<MachineInput['network']>['interfaces'] = [];
  if (form.ethernet) interfaces.push({ name: 'eth0', ipv4: 'dhcp' });
  const secrets: Record<string, string> = {};
  if (form.wifiSsid.trim() !== '') {
    const network: { ssid: string; psk?: string } = { ssid: form.wifiSsid.trim() };
    if (form.wifiPassphrase !== '') {
      network.psk = `\${secret:${WIFI_SECRET}}`;
      secrets[WIFI_SECRET] = form.wifiPassphrase;
    }
    interfaces.push({
      name: 'wlan0',
      ipv4: 'dhcp',
      wifi: { country: form.wifiCountry.trim().toUpperCase(), networks: [network] },
    });
  }
  const input: MachineInput = {
    version: 1,
    hostname: form.hostname.trim(),
    target: { board: form.board, arch: form.arch as MachineInput['target']['arch'] },
    ...(form.version.trim() !== '' ? { alpine: { version: form.version.trim() } } : {}),
    timezone: form.timezone.trim(),
    network: { interfaces },
  };
  if (form.userName.trim() !== '') {
    input.users = [
      {
        name: form.userName.trim(),
        doas: form.doas,
        ssh_authorized_keys: form.sshKey.trim() === '' ? [] : [form.sshKey.trim()],
      },
    ];
  }
  if (form.kiosk) input.kiosk = { url: form.kioskUrl.trim(), rotate: Number(form.rotate) as 0 | 90 | 180 | 270 };
  if (form.apkCache || form.lbu) input.persistence = { apk_cache: form.apkCache, lbu: form.lbu };
  return { input, secrets };
}

export function toYaml(input: MachineInput): string {
  return `# Apkovl Studio machine definition (written by the app)\n${stringify(input)}`;
}

/** Which form field an issue of the definition belongs to, by its path. */
const FIELD_OF: [RegExp, MachineField][] = [
  [/^hostname$/, 'hostname'],
  [/^target\.board$/, 'board'],
  [/^target\.arch$/, 'arch'],
  [/^alpine\.version$/, 'version'],
  [/^timezone$/, 'timezone'],
  [/^network\.interfaces\[\d+\]\.wifi\.country$/, 'wifiCountry'],
  [/^network\.interfaces\[\d+\]\.wifi\.networks\[0\]\.ssid$/, 'wifiSsid'],
  [/^network\.interfaces\[\d+\]\.wifi\.networks\[0\]\.psk$/, 'wifiPassphrase'],
  [/^users\[0\]\.name$/, 'userName'],
  [/^users\[0\]\.ssh_authorized_keys/, 'sshKey'],
  [/^kiosk\.url$/, 'kioskUrl'],
  [/^kiosk$/, 'kiosk'],
  [/^ssh$/, 'sshKey'],
];

export interface FormCheck {
  /** Errors and warnings by field; those that fit no field under `general`. */
  fields: Partial<Record<MachineField, LocatedIssue[]>>;
  general: LocatedIssue[];
  valid: boolean;
}

export function checkForm(form: MachineFormState): FormCheck {
  const { input, secrets } = toDefinition(form);
  const result = validateMachine(input, secrets);
  const fields: FormCheck['fields'] = {};
  const general: LocatedIssue[] = [];
  for (const issue of result.issues) {
    const field = FIELD_OF.find(([pattern]) => pattern.test(issue.path))?.[1];
    if (field === undefined) general.push(issue);
    else (fields[field] ??= []).push(issue);
  }
  return { fields, general, valid: result.machine !== null };
}
