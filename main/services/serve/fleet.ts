import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, isAppError } from '../../../shared/errors.js';
import { describeError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { loadDefinition, type LoadedDefinition } from '../machine/load-definition.js';
import { secretsPathFor } from '../machine/save-definition.js';
import type { ResolvedSources } from '../overlay/source-files.js';

/**
 * The machines `apkovl serve` was given: definition files, and folders standing for every
 * `*.yml` in them (not `*.secrets.yml`). Each definition's secrets are in the secrets file
 * beside it (`kiosk.yml` -> `kiosk.secrets.yml`), when there is one. The fleet is read again at
 * every request: a definition, its secrets file or a folder's list that changed is seen at once.
 */
export interface FleetMachine {
  /** The definition file, as found (a folder's files are joined to the folder given). */
  file: string;
  /** The secrets file beside it, when it exists. */
  secretsFile: string | null;
  hostname: string;
  /** The interfaces' MAC addresses, lower-case colon form. */
  macs: string[];
}

/** One definition as last read: the machine, or why it cannot be used now. */
export type FleetEntry =
  | { kind: 'ok'; machine: FleetMachine; loaded: LoadedDefinition; fingerprint: string }
  | { kind: 'broken'; file: string; error: AppError; last: FleetMachine | null };

/** A name (MAC or host name) claimed by two definitions. */
export interface FleetConflict {
  key: string;
  files: string[];
}

export interface FleetIndex {
  entries: FleetEntry[];
  /** MAC address (lower-case colon form) or host name (lower case) -> the entry. */
  byName: Map<string, FleetEntry>;
  conflicts: FleetConflict[];
}

const DEFINITION = /\.ya?ml$/i;
const SECRETS = /\.secrets\.ya?ml$/i;

/** The definition files the arguments stand for, in a stable order; errors name the argument. */
export async function definitionFiles(argumentsGiven: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of argumentsGiven) {
    const info = await stat(given).catch((error: unknown) => {
      throw new AppError('not-found', `cannot open ${displayText(given)}: ${(error as Error).message}`, {
        location: given,
        hint: 'give machine definitions (.yml) or folders holding them',
      });
    });
    if (info.isDirectory()) {
      const names = (await readdir(given)).filter((name) => DEFINITION.test(name) && !SECRETS.test(name)).sort();
      files.push(...names.map((name) => path.join(given, name)));
    } else if (SECRETS.test(given)) {
      throw new AppError('usage', `${displayText(given)} is a secrets file, not a machine definition`, {
        location: given,
        hint: 'give the definition beside it: its secrets file is read with it',
      });
    } else files.push(given);
  }
  return [...new Set(files)];
}

async function readOrNull(file: string): Promise<Buffer | null> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

/** Everything a built apkovl depends on: the definition, its secrets and the content it copies. */
function fingerprintOf(definition: Buffer, secrets: Buffer | null, sources: ResolvedSources): string {
  const hash = createHash('sha256');
  const part = (label: string, data: string | Buffer) => {
    hash.update(`${label}:${Buffer.byteLength(data)}:`);
    hash.update(data);
  };
  part('definition', definition);
  part('secrets', secrets ?? 'none');
  for (const [index, content] of [...sources.files].sort(([a], [b]) => a - b)) part(`file ${index}`, content);
  for (const [index, items] of [...sources.trees].sort(([a], [b]) => a - b)) {
    for (const item of items) {
      part(`tree ${index} ${item.type} ${item.path}`, item.type === 'symlink' ? item.target : String(item.mode));
      if (item.type === 'file') part('content', item.content);
    }
  }
  return hash.digest('hex');
}

/** Read one definition (and everything it refers to) now. */
export async function readFleetEntry(file: string, last: FleetMachine | null): Promise<FleetEntry> {
  try {
    const secretsPath = secretsPathFor(file);
    const definition = await readFile(file);
    const secrets = await readOrNull(secretsPath);
    const loaded = await loadDefinition(file, secrets !== null ? { secretsFile: secretsPath } : {});
    const machine: FleetMachine = {
      file,
      secretsFile: secrets !== null ? secretsPath : null,
      hostname: loaded.machine.hostname,
      macs: loaded.machine.network.interfaces.flatMap((iface) => (iface.mac !== undefined ? [iface.mac] : [])),
    };
    return { kind: 'ok', machine, loaded, fingerprint: fingerprintOf(definition, secrets, loaded.sources) };
  } catch (error) {
    const classified = isAppError(error)
      ? error
      : new AppError('io', `cannot read ${displayText(file)}: ${(error as Error).message}`, {
          location: file,
          cause: error,
        });
    return { kind: 'broken', file, error: classified, last };
  }
}

/** The names each entry answers to, and the names two entries claim. */
export function indexFleet(entries: FleetEntry[]): FleetIndex {
  const claims = new Map<string, FleetEntry[]>();
  const claim = (key: string, entry: FleetEntry) => claims.set(key, [...(claims.get(key) ?? []), entry]);
  for (const entry of entries) {
    const machine = entry.kind === 'ok' ? entry.machine : entry.last;
    if (machine === null) continue;
    claim(machine.hostname.toLowerCase(), entry);
    for (const mac of new Set(machine.macs)) claim(mac, entry);
  }
  const byName = new Map<string, FleetEntry>();
  const conflicts: FleetConflict[] = [];
  for (const [key, claimants] of claims) {
    if (claimants.length === 1) byName.set(key, claimants[0] as FleetEntry);
    else
      conflicts.push({
        key,
        files: claimants.map((entry) => (entry.kind === 'ok' ? entry.machine.file : entry.file)),
      });
  }
  return { entries, byName, conflicts };
}

/** A conflict as a person reads it. */
export function describeConflict(conflict: FleetConflict): string {
  const [first = '', ...others] = conflict.files.map(displayText);
  const what = conflict.key.includes(':') ? `the MAC address ${conflict.key}` : `the host name ${conflict.key}`;
  return `${what} is in both ${first} and ${others.join(' and ')}`;
}

/**
 * The fleet as it is on disk now. `previous` entries whose definition and secrets are unchanged
 * are still read again when asked (`fresh`), so that content they copy is never stale either.
 */
export class Fleet {
  private entries = new Map<string, FleetEntry>();

  constructor(private readonly given: readonly string[]) {}

  /** Read every definition again; the first call refuses a fleet that cannot be served as a whole. */
  async refresh(options: { strict: boolean }): Promise<FleetIndex> {
    const files = await definitionFiles(this.given);
    if (files.length === 0 && options.strict) {
      throw new AppError(
        'invalid-input',
        `no machine definitions (*.yml) in ${this.given.map(displayText).join(', ')}`,
        {
          location: this.given[0] ?? '',
          hint: 'give machine definitions, or folders holding them (apkovl init writes one)',
        },
      );
    }
    const next = new Map<string, FleetEntry>();
    for (const file of files) {
      const before = this.entries.get(file);
      const last = before === undefined ? null : before.kind === 'ok' ? before.machine : before.last;
      next.set(file, await readFleetEntry(file, last));
    }
    this.entries = next;
    const index = indexFleet([...next.values()]);
    if (options.strict) {
      const broken = index.entries.find((entry) => entry.kind === 'broken');
      if (broken?.kind === 'broken') throw broken.error;
      const conflict = index.conflicts[0];
      if (conflict !== undefined) {
        throw new AppError('invalid-input', describeConflict(conflict), {
          location: conflict.files[1] ?? '',
          hint: 'each machine needs its own host name and MAC addresses: fix one of the definitions',
        });
      }
    }
    return index;
  }
}

/** How a broken entry is told in the log. */
export function brokenReason(entry: Extract<FleetEntry, { kind: 'broken' }>): string {
  return describeError(entry.error).replace(/\n\s*/g, ' ');
}
