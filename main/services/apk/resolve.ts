/**
 * Resolve a machine's world to the complete, consistent set of packages apk will install.
 *
 * Pure: parsed indexes in, a package list out. Like apk it follows dependencies through
 * package names and `p:` provides (so:, cmd:, pc:, virtual names), honours version
 * constraints and `!` conflicts, and adds install_if packages once all their conditions hold.
 * A provider is chosen like apk: one already chosen if it fits; else a package with that
 * exact name; else the highest `k:` priority, then the highest version (apk's order), then the
 * earlier index, then the name. Non-versioned provides are chosen only with a `k:` priority.
 *
 * The search is greedy in breadth-first order. When a later requirement contradicts an earlier
 * choice (foo>=2 after foo-1 was taken), the requirement is remembered and the search starts
 * again, so that choice is made right the next time; only then is it an error.
 */
import { AppError } from '../../../shared/errors.js';
import {
  type Candidate,
  type Catalog,
  type CatalogEntry,
  buildCatalog,
  closestNames,
  namesOf,
  packageSatisfies,
} from './catalog.js';
import { type ApkDependency, type ApkIndex, type ApkPackage, parseDependency } from './index-parse.js';
import { compareVersions } from './version.js';

export interface ResolveRequest {
  /** Parsed indexes in priority order (e.g. main, then community). */
  indexes: ApkIndex[];
  /** The machine's world: `name`, `name>=1.2`, `!name`, `so:libfoo.so.1`... */
  world: string[];
  /** Always installed on a diskless Alpine; default `['alpine-base']`. */
  base?: string[];
  /** More requirements with who needs them, e.g. `{ label: 'services', names: ['cage'] }`. */
  extra?: { label: string; names: string[] }[];
  /** Only packages of this arch (or noarch) are eligible. */
  arch?: string;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  arch?: string;
  /** Size of the .apk file (S:). */
  size: number;
  installedSize: number;
  /** C: as in the index (`Q1` + base64 SHA-1 of the control stream). */
  checksum: string;
  checksumBytes: Uint8Array;
  /** The `source` of the index it comes from. */
  repository: string;
  /** Why it is there: the chain from a root (`world`...) down to this package. */
  chain: string[];
  /** `install_if` when it was added because its install_if conditions hold. */
  reason: 'required' | 'install-if';
}

export interface Resolution {
  /** Sorted by name. */
  packages: ResolvedPackage[];
  size: number;
  installedSize: number;
}

interface Root {
  label: string;
}

interface Selection {
  entry: CatalogEntry;
  parent: Selection | Root;
  /** The requirement that pulled it in, as written. */
  via: string;
  reason: 'required' | 'install-if';
}

interface Requirement {
  dep: ApkDependency;
  by: Selection | Root;
}

const isSelection = (value: Selection | Root): value is Selection => 'entry' in value;
const label = (selection: Selection): string => `${selection.entry.pkg.name}-${selection.entry.pkg.version}`;

/** `world → chromium-120.0-r0 → libx11-1.8.10-r0`, ending at `from`. */
function chainOf(from: Selection | Root): string[] {
  const chain: string[] = [];
  let at: Selection | Root = from;
  for (let guard = 0; guard < 10_000; guard += 1) {
    if (!isSelection(at)) {
      chain.unshift(at.label);
      break;
    }
    chain.unshift(label(at));
    at = at.parent;
  }
  return chain;
}

const showChain = (from: Selection | Root): string => chainOf(from).join(' → ');

/** Thrown inside one attempt when a restart with a remembered requirement may succeed. */
class Retry extends Error {
  constructor(
    readonly hint: ApkDependency,
    /** The error to report if remembering it does not help. */
    readonly error: AppError,
  ) {
    super(`retry with ${hint.text}`);
  }
}

/** Nothing fits only because of a remembered requirement: the real problem is that conflict. */
class HintBlocked extends AppError {}

class Attempt {
  readonly selected = new Map<string, Selection>();
  readonly providers = new Map<string, Selection[]>();
  readonly wanted = new Map<string, Requirement[]>();
  readonly conflicts = new Map<string, Requirement[]>();
  readonly queue: Requirement[] = [];
  /** install_if entries with a condition that a package chosen since the last pass answers to. */
  private pendingInstallIf = new Set<number>();
  private next = 0;

  constructor(
    readonly catalog: Catalog,
    /** Requirements learned from earlier attempts, by name: they steer choices only. */
    readonly hints: Map<string, ApkDependency[]>,
  ) {}

  run(roots: Requirement[]): void {
    this.queue.push(...roots);
    this.drain();
    for (let changed = true; changed;) {
      changed = this.addInstallIf();
      this.drain();
    }
  }

  private drain(): void {
    while (this.next < this.queue.length) {
      const requirement = this.queue[this.next] as Requirement;
      this.next += 1;
      this.require(requirement);
    }
  }

  private require(requirement: Requirement): void {
    const { dep, by } = requirement;
    const list = dep.conflict ? this.conflicts : this.wanted;
    list.set(dep.name, [...(list.get(dep.name) ?? []), requirement]);
    const present = this.providers.get(dep.name) ?? [];
    if (dep.conflict) {
      const hit = present.find((selection) => packageSatisfies(selection.entry.pkg, dep));
      if (hit !== undefined) this.conflict(hit, requirement);
      return;
    }
    if (present.some((selection) => packageSatisfies(selection.entry.pkg, dep))) return;
    const same = this.selected.get(dep.name);
    if (same !== undefined) this.conflict(same, requirement);
    const candidates = this.eligible(dep);
    const best = candidates[0];
    if (best === undefined) this.unsatisfiable(requirement);
    else this.select(best.entry, by, dep.text, 'required');
  }

  /** Candidates that fit `dep`, nothing chosen or forbidden so far, and the hints; best first. */
  private eligible(dep: ApkDependency): Candidate[] {
    const fits = (this.catalog.byName.get(dep.name) ?? []).filter((candidate) => {
      const pkg = candidate.entry.pkg;
      if (
        candidate.provide !== undefined &&
        candidate.provide.version === undefined &&
        pkg.providerPriority === undefined
      )
        return false;
      return packageSatisfies(pkg, dep) && this.allowed(candidate.entry);
    });
    return fits.sort(preference);
  }

  private allowed(entry: CatalogEntry): boolean {
    const pkg = entry.pkg;
    const other = this.selected.get(pkg.name);
    if (other !== undefined && other.entry !== entry) return false;
    for (const requirement of this.wanted.get(pkg.name) ?? [])
      if (!packageSatisfies(pkg, requirement.dep) && !this.satisfiedElsewhere(requirement.dep)) return false;
    if (!this.fitsHints(pkg)) return false;
    for (const name of namesOf(pkg))
      for (const requirement of this.conflicts.get(name) ?? [])
        if (packageSatisfies(pkg, requirement.dep)) return false;
    return true;
  }

  /** Hints: `!x` forbids what matches x; a positive hint on a package's own name must hold. */
  fitsHints(pkg: ApkPackage): boolean {
    for (const name of namesOf(pkg))
      for (const hint of this.hints.get(name) ?? []) {
        if (hint.conflict ? packageSatisfies(pkg, hint) : name === pkg.name && !packageSatisfies(pkg, hint))
          return false;
      }
    return true;
  }

  private satisfiedElsewhere(dep: ApkDependency): boolean {
    return (this.providers.get(dep.name) ?? []).some((selection) => packageSatisfies(selection.entry.pkg, dep));
  }

  private select(entry: CatalogEntry, parent: Selection | Root, via: string, reason: Selection['reason']): void {
    const pkg = entry.pkg;
    const selection: Selection = { entry, parent, via, reason };
    for (const name of namesOf(pkg))
      for (const requirement of this.conflicts.get(name) ?? [])
        if (packageSatisfies(pkg, requirement.dep)) this.conflict(selection, requirement);
    // A versioned provide owns its name: two packages may not both own one.
    const owned = [pkg.name, ...pkg.provides.filter((provide) => provide.version !== undefined).map((p) => p.name)];
    for (const name of owned) {
      const owner = (this.providers.get(name) ?? []).find((other) => owns(other, name));
      if (owner !== undefined) this.clash(owner, selection, name);
    }
    this.selected.set(pkg.name, selection);
    for (const name of ['', ...namesOf(pkg)])
      for (const position of this.catalog.installIfByName.get(name) ?? []) this.pendingInstallIf.add(position);
    for (const name of new Set([pkg.name, ...pkg.provides.map((provide) => provide.name)]))
      this.providers.set(name, [...(this.providers.get(name) ?? []), selection]);
    for (const dep of pkg.depends) this.queue.push({ dep, by: selection });
  }

  /** One pass over install_if packages; true when it added any. */
  private addInstallIf(): boolean {
    let added = false;
    const pending = [...this.pendingInstallIf].sort((a, b) => a - b);
    this.pendingInstallIf = new Set();
    for (const position of pending) {
      const entry = this.catalog.installIf[position] as CatalogEntry;
      const pkg = entry.pkg;
      if (this.selected.has(pkg.name)) continue;
      // packageSatisfies looks at a condition's name and version only, not at its `!`.
      const holds = pkg.installIf.every((condition) => this.satisfiedElsewhere(condition) !== condition.conflict);
      if (!holds || !this.allowed(entry)) continue;
      const first = pkg.installIf.find((condition) => !condition.conflict);
      const parent = (first && this.providers.get(first.name)?.[0]) ?? { label: 'install_if' };
      this.select(entry, parent, `install_if ${pkg.installIf.map((dep) => dep.text).join(' ')}`, 'install-if');
      added = true;
    }
    return added;
  }

  /** `present` is chosen but `requirement` cannot accept it. */
  private conflict(present: Selection, requirement: Requirement): never {
    const { dep, by } = requirement;
    const name = present.entry.pkg.name;
    const error = new AppError(
      'invalid-input',
      `package conflict: ${label(present)} (pulled in by ${showChain(present.parent)}) ` +
        `and ${dep.text} (required by ${showChain(by)}) cannot both hold`,
      {
        location: 'world',
        hint: `remove one of the two from the world, or pin a version both accept (e.g. ${name}=<version>)`,
      },
    );
    const alternative = this.catalog.byName.get(name)?.some((candidate) => packageSatisfies(candidate.entry.pkg, dep));
    if (dep.conflict || alternative === true) this.retry(dep, error);
    throw error;
  }

  private clash(owner: Selection, newcomer: Selection, name: string): never {
    throw new AppError(
      'invalid-input',
      `package conflict: ${label(owner)} (pulled in by ${showChain(owner.parent)}) and ${label(newcomer)} ` +
        `(pulled in by ${showChain(newcomer.parent)} for ${newcomer.via}) both provide ${name}`,
      { location: 'world', hint: `choose one of them explicitly in the world` },
    );
  }

  private retry(dep: ApkDependency, error: AppError): void {
    const known = this.hints.get(dep.name) ?? [];
    if (!known.some((hint) => hint.text === dep.text && hint.conflict === dep.conflict)) throw new Retry(dep, error);
  }

  /** Throws a conflict naming both sides when `entry` is kept out by a choice or a `!`. */
  private explainBlocked(entry: CatalogEntry, requirement: Requirement): void {
    const pkg = entry.pkg;
    const both = (other: string): never => {
      throw new AppError(
        'invalid-input',
        `package conflict: ${requirement.dep.text} (required by ${showChain(requirement.by)}) and ${other} cannot both hold`,
        { location: 'world', hint: 'remove one of the two from the world, or pin a version both accept' },
      );
    };
    const other = this.selected.get(pkg.name);
    if (other !== undefined && other.entry !== entry) both(`${label(other)} (pulled in by ${showChain(other.parent)})`);
    for (const name of namesOf(pkg))
      for (const conflict of this.conflicts.get(name) ?? [])
        if (packageSatisfies(pkg, conflict.dep)) both(`${conflict.dep.text} (required by ${showChain(conflict.by)})`);
  }

  private unsatisfiable(requirement: Requirement): never {
    const { dep, by } = requirement;
    const all = this.catalog.byName.get(dep.name) ?? [];
    const where = this.catalog.repositories.join(', ');
    if (all.length === 0) {
      const near = closestNames(this.catalog, dep.name);
      throw new AppError(
        'invalid-input',
        `no package provides "${dep.name}" in ${where} (required by ${showChain(by)})` +
          (near.length > 0 ? `; closest: ${near.join(', ')}` : ''),
        {
          location: 'world',
          hint:
            near.length > 0
              ? `check the spelling (did you mean ${near[0]}?) or add the repository that has it`
              : 'check the spelling or add the repository that has it',
        },
      );
    }
    const versions = all.map((candidate) => describeCandidate(candidate)).join(', ');
    const fitting = all.filter((candidate) => packageSatisfies(candidate.entry.pkg, dep));
    if (this.hints.size > 0 && fitting.some((candidate) => !this.fitsHints(candidate.entry.pkg)))
      throw new HintBlocked('invalid-input', `${dep.text} is blocked by an earlier conflict`);
    for (const candidate of fitting) this.explainBlocked(candidate.entry, requirement);
    const reason =
      fitting.length === 0
        ? `only ${versions} exist`
        : fitting.every((candidate) => candidate.provide !== undefined && candidate.provide.version === undefined)
          ? `it is a virtual name and none of its providers (${versions}) has a provider priority`
          : `the fitting ${fitting.map(describeCandidate).join(', ')} conflict with packages already chosen`;
    throw new AppError('invalid-input', `nothing satisfies ${dep.text} (required by ${showChain(by)}): ${reason}`, {
      location: 'world',
      hint: `relax the version constraint or name one provider explicitly in the world`,
    });
  }
}

function owns(selection: Selection, name: string): boolean {
  const pkg = selection.entry.pkg;
  return pkg.name === name || pkg.provides.some((provide) => provide.name === name && provide.version !== undefined);
}

function describeCandidate(candidate: Candidate): string {
  const pkg = candidate.entry.pkg;
  const as = candidate.provide === undefined ? '' : ` (as ${candidate.provide.text})`;
  return `${pkg.name}-${pkg.version}${as} in ${candidate.entry.repository}`;
}

function preference(a: Candidate, b: Candidate): number {
  const exact = Number(a.provide !== undefined) - Number(b.provide !== undefined);
  if (exact !== 0) return exact;
  const priority = (b.entry.pkg.providerPriority ?? 0) - (a.entry.pkg.providerPriority ?? 0);
  if (priority !== 0) return priority;
  const version =
    compareVersions(b.provide?.version ?? b.entry.pkg.version, a.provide?.version ?? a.entry.pkg.version) ||
    compareVersions(b.entry.pkg.version, a.entry.pkg.version);
  if (version !== 0) return version;
  if (a.entry.priority !== b.entry.priority) return a.entry.priority - b.entry.priority;
  return a.entry.pkg.name < b.entry.pkg.name ? -1 : a.entry.pkg.name > b.entry.pkg.name ? 1 : 0;
}

function parseRoots(request: ResolveRequest): Requirement[] {
  const groups = [
    { label: 'world', names: request.world },
    { label: 'base', names: request.base ?? ['alpine-base'] },
    ...(request.extra ?? []),
  ];
  return groups.flatMap((group) => {
    const root: Root = { label: group.label };
    return group.names.map((text) => {
      try {
        if (text.includes('@'))
          throw new Error(`repository tags (${text.slice(text.indexOf('@'))}) are not supported; list that repository`);
        return { dep: parseDependency(text.trim()), by: root };
      } catch (error) {
        throw new AppError(
          'invalid-input',
          `${group.label}: "${text}" is not a package requirement: ${(error as Error).message}`,
          {
            location: group.label,
            hint: 'write name, name>=version, name~version or !name',
          },
        );
      }
    });
  });
}

/** Resolve the world (plus base and extra names) against `indexes`. */
export function resolvePackages(request: ResolveRequest): Resolution {
  const catalog = buildCatalog(request.indexes, request.arch);
  const roots = parseRoots(request);
  const hints = new Map<string, ApkDependency[]>();
  let firstConflict: AppError | undefined;
  for (let round = 0; ; round += 1) {
    const attempt = new Attempt(catalog, hints);
    try {
      attempt.run(roots);
      return summarise(attempt);
    } catch (error) {
      if (error instanceof HintBlocked) throw firstConflict ?? error;
      if (!(error instanceof Retry)) throw error;
      firstConflict ??= error.error;
      if (round >= 200) throw firstConflict;
      hints.set(error.hint.name, [...(hints.get(error.hint.name) ?? []), error.hint]);
    }
  }
}

function summarise(attempt: Attempt): Resolution {
  const packages = [...attempt.selected.values()]
    .map((selection): ResolvedPackage => {
      const pkg = selection.entry.pkg;
      return {
        name: pkg.name,
        version: pkg.version,
        arch: pkg.arch,
        size: pkg.size,
        installedSize: pkg.installedSize,
        checksum: pkg.checksum.text,
        checksumBytes: pkg.checksum.bytes,
        repository: selection.entry.repository,
        chain: chainOf(selection),
        reason: selection.reason,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    packages,
    size: packages.reduce((sum, pkg) => sum + pkg.size, 0),
    installedSize: packages.reduce((sum, pkg) => sum + pkg.installedSize, 0),
  };
}
