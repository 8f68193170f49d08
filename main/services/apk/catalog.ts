/**
 * Every package of several parsed indexes, looked up by the names they answer to: their own
 * name and each `p:` provide. Built once per resolution; pure.
 */
import type { ApkDependency, ApkIndex, ApkPackage, ApkProvide } from './index-parse.js';
import { compareVersions, versionMatches } from './version.js';

export interface CatalogEntry {
  pkg: ApkPackage;
  /** The index's `source`: which repository it came from. */
  repository: string;
  /** Position of that index in the caller's priority order. */
  priority: number;
}

/** One way an entry answers to a name: as itself, or through a provide. */
export interface Candidate {
  entry: CatalogEntry;
  /** The provide it answers through; undefined for the package's own name. */
  provide?: ApkProvide;
}

export interface Catalog {
  byName: Map<string, Candidate[]>;
  /** Entries with `i:` rules, by name, best version first within a name. */
  installIf: CatalogEntry[];
  /**
   * Positions in `installIf` by the names of their positive conditions: what to look at when a
   * package answering to that name arrives (`''`: entries with only negative conditions).
   */
  installIfByName: Map<string, number[]>;
  repositories: string[];
}

export function buildCatalog(indexes: ApkIndex[], arch?: string): Catalog {
  const byName = new Map<string, Candidate[]>();
  const installIf: CatalogEntry[] = [];
  const seen = new Set<string>();
  const add = (name: string, candidate: Candidate): void => {
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [candidate]);
    else list.push(candidate);
  };
  indexes.forEach((index, priority) => {
    for (const pkg of index.packages) {
      if (arch !== undefined && pkg.arch !== undefined && pkg.arch !== arch && pkg.arch !== 'noarch') continue;
      // The same name and version in a later index is the same package as far as we can choose.
      if (indexes.length > 1) {
        const key = `${pkg.name}\u0000${pkg.version}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const entry: CatalogEntry = { pkg, repository: index.source, priority };
      add(pkg.name, { entry });
      for (const provide of pkg.provides) if (provide.name !== pkg.name) add(provide.name, { entry, provide });
      if (pkg.installIf.length > 0) installIf.push(entry);
    }
  });
  installIf.sort(
    (a, b) =>
      (a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : 0) ||
      compareVersions(b.pkg.version, a.pkg.version) ||
      a.priority - b.priority,
  );
  const installIfByName = new Map<string, number[]>();
  installIf.forEach((entry, position) => {
    const positive = entry.pkg.installIf.filter((condition) => !condition.conflict);
    // Only negative conditions (unusual): look at it whenever anything arrives.
    for (const condition of positive.length > 0 ? positive : [{ name: '' }]) {
      const list = installIfByName.get(condition.name);
      if (list === undefined) installIfByName.set(condition.name, [position]);
      else list.push(position);
    }
  });
  return { byName, installIf, installIfByName, repositories: indexes.map((index) => index.source) };
}

/** Does `pkg` (as itself or through a provide) satisfy the positive form of `dep`? */
export function packageSatisfies(pkg: ApkPackage, dep: ApkDependency): boolean {
  if (pkg.name === dep.name) return versionFits(pkg, pkg.version, dep);
  for (const provide of pkg.provides) {
    if (provide.name !== dep.name) continue;
    if (dep.mask === undefined && dep.checksum === undefined) return true;
    if (provide.version !== undefined && versionFits(pkg, provide.version, dep)) return true;
  }
  return false;
}

function versionFits(pkg: ApkPackage, version: string, dep: ApkDependency): boolean {
  if (dep.checksum !== undefined) return pkg.checksum.text === dep.checksum;
  if (dep.mask === undefined || dep.version === undefined) return true;
  return versionMatches(version, dep.mask, dep.version);
}

/** The names a package answers to: its own and every provide. */
export function namesOf(pkg: ApkPackage): string[] {
  return [pkg.name, ...pkg.provides.map((provide) => provide.name)];
}

/** Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      current.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] as number;
}

/** The known names closest to `wanted`: small edit distance first, then names it begins. */
export function closestNames(catalog: Catalog, wanted: string, count = 5): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  const scored: { name: string; score: number }[] = [];
  for (const name of catalog.byName.keys()) {
    const distance = editDistance(wanted, name, limit);
    if (distance <= limit) scored.push({ name, score: distance });
    else if (wanted.length >= 3 && name.startsWith(wanted))
      scored.push({ name, score: limit + name.length - wanted.length });
  }
  scored.sort((a, b) => a.score - b.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return scored.slice(0, count).map((item) => item.name);
}
