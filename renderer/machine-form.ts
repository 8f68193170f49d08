import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { parseMachineYaml, type LocatedIssue } from '../shared/model/machine-yaml.js';
import { architectures, boards, type Board } from '../shared/model/targets.js';

/**
 * The app's machine form over a definition's YAML text. The text is what is saved and built;
 * the form reads a few common fields from it and writes only those back (comments and every
 * field the form does not show stay as they are). Both are checked by the schema and rules the
 * CLI uses. The Wi-Fi passphrase goes to the secrets, referenced as ${secret:...}.
 */
export interface MachineFormState {
  hostname: string;
  board: Board;
  arch: string;
  version: string;
  timezone: string;
  ethernet: boolean;
  /** eth0's MAC address, for apkovl serve; empty: none given. */
  ethernetMac: string;
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
  /** boot.partition_size; empty: the definition says nothing (the whole drive, or 512 MiB for an image). */
  partitionSize: string;
}

export type MachineField = keyof MachineFormState;

/** The definition being edited: its text, its secrets, and the files it came from or went to. */
export interface DefinitionDraft {
  yaml: string;
  secrets: Record<string, string>;
  /** False for a definition opened from a file whose secrets file the app did not read. */
  secretsKnown: boolean;
  path: string | null;
  secretsPath: string | null;
  /** Changed since it was opened or saved. */
  dirty: boolean;
}

export const blankDefinition = `# Apkovl Studio machine definition
version: 1
hostname: ""
target: { board: rpi, arch: aarch64 }
timezone: UTC
network:
  interfaces:
    - { name: eth0, ipv4: dhcp }
users:
  - name: admin
    doas: true
    ssh_authorized_keys: []
`;

const WIFI_SECRET = 'wifi_passphrase';
const SECRET_REFERENCE = /^\$\{secret:([A-Za-z0-9_.-]+)\}$/;

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (value !== null && typeof value === 'object' ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

function interfaceIndex(interfaces: unknown[], wifi: boolean): number {
  return interfaces.findIndex((each) =>
    wifi ? object(each).wifi !== undefined : object(each).name === 'eth0' && object(each).wifi === undefined,
  );
}

/** The form as the definition's text says; null when the text is not YAML (edit it in the YAML tab). */
export function formFromYaml(yaml: string, secrets: Record<string, string>): MachineFormState | null {
  const document = parseDocument(yaml);
  if (document.errors.length > 0) return null;
  const raw = object(document.toJS());
  const target = object(raw.target);
  const interfaces = list(object(raw.network).interfaces);
  const wlan = object(interfaces[interfaceIndex(interfaces, true)]);
  const wifi = object(wlan.wifi);
  const network = object(list(wifi.networks)[0]);
  const psk = text(network.psk);
  const secret = SECRET_REFERENCE.exec(psk)?.[1];
  const user = object(list(raw.users)[0]);
  const kiosk = raw.kiosk === undefined ? null : object(raw.kiosk);
  const persistence = object(raw.persistence);
  const board = text(target.board);
  return {
    hostname: text(raw.hostname),
    board: (boards as readonly string[]).includes(board) ? (board as Board) : 'rpi',
    arch: text(target.arch) || 'aarch64',
    version: text(object(raw.alpine).version),
    timezone: text(raw.timezone),
    ethernet: interfaceIndex(interfaces, false) >= 0,
    ethernetMac: text(object(interfaces[interfaceIndex(interfaces, false)]).mac),
    wifiSsid: text(network.ssid),
    wifiPassphrase: secret !== undefined ? (secrets[secret] ?? '') : psk,
    wifiCountry: text(wifi.country),
    userName: text(user.name),
    sshKey: text(list(user.ssh_authorized_keys)[0]),
    doas: user.doas === true,
    kiosk: kiosk !== null,
    kioskUrl: text(kiosk?.url),
    rotate: text(kiosk?.rotate) || '0',
    apkCache: persistence.apk_cache === true,
    lbu: persistence.lbu === true,
    partitionSize: text(object(raw.boot).partition_size),
  };
}

/** Write one form field into the definition's text; everything else stays as written. */
export function applyField<K extends MachineField>(
  draft: Pick<DefinitionDraft, 'yaml' | 'secrets'>,
  field: K,
  value: MachineFormState[K],
): { yaml: string; secrets: Record<string, string> } {
  const document = parseDocument(draft.yaml);
  if (document.errors.length > 0) return draft;
  const secrets = { ...draft.secrets };
  const set = (path: (string | number)[], next: unknown) => {
    // A scalar keeps its node, and so the comment beside it.
    const node = document.getIn(path, true);
    if (isScalar(node) && (next === null || typeof next !== 'object')) node.value = next;
    else document.setIn(path, document.createNode(next));
  };
  const drop = (path: (string | number)[]) => {
    if (document.hasIn(path)) document.deleteIn(path);
  };
  const string = String(value);
  switch (field) {
    case 'hostname':
    case 'timezone':
      set([field], string);
      break;
    case 'board':
      set(['target', 'board'], string);
      if (string === 'x86_64' || string === 'x86_64-uefi') set(['target', 'arch'], 'x86_64');
      else if (document.getIn(['target', 'arch']) === 'x86_64') set(['target', 'arch'], 'aarch64');
      break;
    case 'arch':
      set(['target', 'arch'], string);
      break;
    case 'version':
      if (string.trim() === '') drop(['alpine', 'version']);
      else set(['alpine', 'version'], string);
      break;
    case 'partitionSize':
      if (string.trim() === '') drop(['boot', 'partition_size']);
      else set(['boot', 'partition_size'], string);
      break;
    case 'ethernet':
    case 'ethernetMac':
    case 'wifiSsid':
    case 'wifiPassphrase':
    case 'wifiCountry':
      applyNetwork(document, secrets, field, value);
      break;
    case 'userName':
      set(['users', 0, 'name'], string);
      break;
    case 'doas':
      set(['users', 0, 'doas'], value === true);
      break;
    case 'sshKey':
      // As typed (a space in the middle of typing stays); the schema says when it is not a key.
      set(['users', 0, 'ssh_authorized_keys'], string.trim() === '' ? [] : [string]);
      break;
    case 'kiosk':
      if (value === true) set(['kiosk'], { url: '', rotate: 0 });
      else drop(['kiosk']);
      break;
    case 'kioskUrl':
      set(['kiosk', 'url'], string);
      break;
    case 'rotate':
      set(['kiosk', 'rotate'], Number(string));
      break;
    case 'apkCache':
      set(['persistence', 'apk_cache'], value === true);
      break;
    case 'lbu':
      set(['persistence', 'lbu'], value === true);
      break;
  }
  return { yaml: document.toString(), secrets };
}

function applyNetwork(
  document: Document,
  secrets: Record<string, string>,
  field: MachineField,
  value: string | boolean,
) {
  if (!document.hasIn(['network', 'interfaces'])) document.setIn(['network', 'interfaces'], document.createNode([]));
  const node = document.getIn(['network', 'interfaces']);
  if (!isSeq(node)) return;
  const interfaces = list(node.toJSON());
  const base = ['network', 'interfaces'];
  if (field === 'ethernet') {
    const index = interfaceIndex(interfaces, false);
    if (value === true && index < 0) node.items.unshift(document.createNode({ name: 'eth0', ipv4: 'dhcp' }));
    if (value === false && index >= 0) node.delete(index);
    return;
  }
  if (field === 'ethernetMac') {
    const index = interfaceIndex(interfaces, false);
    if (index < 0) return;
    // As typed; the schema says when it is not a MAC address.
    if (String(value).trim() !== '') document.setIn([...base, index, 'mac'], String(value).trim());
    else if (document.hasIn([...base, index, 'mac'])) document.deleteIn([...base, index, 'mac']);
    return;
  }
  let index = interfaceIndex(interfaces, true);
  if (field === 'wifiSsid' && String(value).trim() === '') {
    if (index >= 0) node.delete(index);
    return;
  }
  if (index < 0) {
    node.add(document.createNode({ name: 'wlan0', ipv4: 'dhcp', wifi: { country: '', networks: [{ ssid: '' }] } }));
    index = node.items.length - 1;
  }
  const network = [...base, index, 'wifi', 'networks', 0];
  if (field === 'wifiSsid') document.setIn([...network, 'ssid'], String(value));
  if (field === 'wifiCountry') document.setIn([...base, index, 'wifi', 'country'], String(value).toUpperCase());
  if (field === 'wifiPassphrase') {
    const current = document.getIn([...network, 'psk']);
    const name = (typeof current === 'string' ? SECRET_REFERENCE.exec(current)?.[1] : undefined) ?? WIFI_SECRET;
    if (value === '') {
      if (document.hasIn([...network, 'psk'])) document.deleteIn([...network, 'psk']);
      delete secrets[name];
    } else {
      document.setIn([...network, 'psk'], `\${secret:${name}}`);
      secrets[name] = String(value);
    }
  }
}

/** Which form field an issue of the definition belongs to, by its path. */
const FIELD_OF: [RegExp, MachineField][] = [
  [/^hostname$/, 'hostname'],
  [/^target\.board$/, 'board'],
  [/^target\.arch$/, 'arch'],
  [/^target$/, 'arch'],
  [/^alpine\.version$/, 'version'],
  [/^timezone$/, 'timezone'],
  [/^network\.interfaces\[\d+\]\.mac$/, 'ethernetMac'],
  [/^network\.interfaces\[\d+\]\.wifi\.country$/, 'wifiCountry'],
  [/^network\.interfaces\[\d+\]\.wifi\.networks\[0\]\.ssid$/, 'wifiSsid'],
  [/^network\.interfaces\[\d+\]\.wifi\.networks\[0\]\.psk$/, 'wifiPassphrase'],
  [/^users\[0\]\.name$/, 'userName'],
  [/^users\[0\]\.ssh_authorized_keys/, 'sshKey'],
  [/^kiosk\.url$/, 'kioskUrl'],
  [/^kiosk$/, 'kiosk'],
  [/^boot\.partition_size$/, 'partitionSize'],
];

export interface DefinitionCheck {
  /** Every problem, with its line in the YAML text when known. */
  issues: LocatedIssue[];
  /** The same by form field; those that fit no field under `general`. */
  fields: Partial<Record<MachineField, LocatedIssue[]>>;
  general: LocatedIssue[];
  valid: boolean;
}

/**
 * Stand-ins for secrets kept in a file the app did not read: the CLI substitutes the real ones
 * when it builds; here they only let the rest of the definition be checked.
 */
function standIns(yaml: string): Record<string, string> {
  const names = [...yaml.matchAll(/\$\{secret:([A-Za-z0-9_.-]+)\}/g)].map((match) => match[1] as string);
  return Object.fromEntries(names.map((name) => [name, 'kept-in-the-secrets-file']));
}

export function checkDefinition(draft: Pick<DefinitionDraft, 'yaml' | 'secrets' | 'secretsKnown'>): DefinitionCheck {
  const result = parseMachineYaml(draft.yaml, draft.secretsKnown ? draft.secrets : standIns(draft.yaml));
  const fields: DefinitionCheck['fields'] = {};
  const general: LocatedIssue[] = [];
  for (const issue of result.issues) {
    const field = FIELD_OF.find(([pattern]) => pattern.test(issue.path))?.[1];
    if (field === undefined) general.push(issue);
    else (fields[field] ??= []).push(issue);
  }
  return { issues: result.issues, fields, general, valid: result.machine !== null };
}

/** The target, release and mirror a definition asks for (defaults where it says nothing). */
export interface DefinitionTarget {
  board: Board;
  arch: (typeof architectures)[number];
  branch: string;
  version: string | null;
  flavor: string;
  mirror: string;
  hostname: string;
  user: string | null;
  kiosk: boolean;
  ssh: boolean;
  /** alpine.offline: the machine's packages go on the card (its apk cache). */
  offline: boolean;
}

export function definitionTarget(yaml: string): DefinitionTarget {
  const document = parseDocument(yaml);
  const raw = document.errors.length > 0 ? {} : object(document.toJS());
  const target = object(raw.target);
  const alpine = object(raw.alpine);
  const board = text(target.board);
  const arch = text(target.arch);
  const user = object(list(raw.users)[0]);
  return {
    board: (boards as readonly string[]).includes(board) ? (board as Board) : 'rpi',
    arch: (architectures as readonly string[]).includes(arch) ? (arch as DefinitionTarget['arch']) : 'aarch64',
    branch: text(alpine.branch) || 'latest-stable',
    version: text(alpine.version) || null,
    flavor: text(alpine.flavor) || 'standard',
    mirror: text(alpine.mirror) || 'https://dl-cdn.alpinelinux.org/alpine',
    hostname: text(raw.hostname),
    user: text(user.name) || null,
    kiosk: raw.kiosk !== undefined,
    ssh: object(raw.ssh).enable !== false,
    offline: alpine.offline === true,
  };
}

/** Whether the text's top level is a mapping (what the form can edit). */
export function isEditable(yaml: string): boolean {
  const document = parseDocument(yaml);
  return document.errors.length === 0 && (document.contents === null || isMap(document.contents));
}
