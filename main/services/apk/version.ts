/**
 * apk's package versions: validity, ordering and constraint matching.
 *
 * The grammar (apk-package(5)): `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
 * Versions are compared token by token, left to right:
 *   - the first number numerically; later numbers numerically too, unless either starts with a
 *     zero, then as strings (so 1.02 < 1.1 and 8.2.0 < 8.2.001, like decimal fractions);
 *   - a letter by its character; suffixes by their rank
 *     (alpha < beta < pre < rc < no suffix < cvs < svn < git < hg < p), then their number;
 *   - a `~hash` as a string; the `-rN` revision numerically.
 * Where one version has a token the other lacks, a pre-release suffix (alpha..rc) makes its
 * version the smaller; otherwise the version whose next token comes earlier in the list
 * number, letter, suffix, suffix number, hash, revision, end is the greater (1.2.1 > 1.2,
 * 1.2_p1 > 1.2, 1.2-r1 > 1.2). An invalid version compares by its valid beginning; what
 * follows sorts after any valid token, and two invalid rests compare as strings.
 *
 * Written from the documented semantics and apk-tools' test vectors
 * (test/fixtures/apk/version.data), not from apk-tools' code.
 */

export type VersionOrder = -1 | 0 | 1;

/** Bits of a constraint's accepted results, combined like apk's operators. */
export const LESS = 1;
export const EQUAL = 2;
export const GREATER = 4;
/** Compare only as far as the constraint's version goes (`~`: 1.6.5 ~ 1.6). */
export const FUZZY = 8;

const enum Kind {
  Invalid = 0,
  Number = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNumber = 4,
  Hash = 5,
  Revision = 6,
  End = 7,
}

interface Token {
  kind: Kind;
  text: string;
  /** Suffix rank (negative for pre-releases) or letter code. */
  rank: number;
  first: boolean;
}

const suffixRanks: Record<string, number> = {
  alpha: -4,
  beta: -3,
  pre: -2,
  rc: -1,
  cvs: 1,
  svn: 2,
  git: 3,
  hg: 4,
  p: 5,
};

const validPattern = /^\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(~[0-9a-f]+)?(-r\d+)?$/;

/** True when `version` follows apk's version grammar. */
export function isValidVersion(version: string): boolean {
  return validPattern.test(version);
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/**
 * The tokens of a version. Where the text stops following the grammar, the rest becomes one
 * Invalid token, so invalid versions still compare by their valid beginning (23_foo > 4_beta).
 */
function tokenize(version: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  let stage = Kind.Number; // the latest kind read: what may follow depends on it
  const digits = (): string => {
    const start = at;
    while (at < version.length && isDigit(version.charCodeAt(at))) at += 1;
    return version.slice(start, at);
  };
  const push = (kind: Kind, text: string, rank = 0, first = false): void => {
    tokens.push({ kind, text, rank, first });
    stage = kind;
  };
  const first = digits();
  if (first === '') return [{ kind: Kind.Invalid, text: version, rank: 0, first: true }];
  push(Kind.Number, first, 0, true);
  while (at < version.length) {
    const start = at;
    const char = version[at] as string;
    const next = version.charCodeAt(at + 1);
    if (char === '.' && stage === Kind.Number && isDigit(next)) {
      at += 1;
      push(Kind.Number, digits());
      continue;
    }
    if (char >= 'a' && char <= 'z' && stage === Kind.Number) {
      at += 1;
      push(Kind.Letter, char, char.charCodeAt(0));
      continue;
    }
    if (char === '_' && stage <= Kind.SuffixNumber) {
      at += 1;
      while (at < version.length && /[a-z]/.test(version[at] as string)) at += 1;
      const name = version.slice(start + 1, at);
      const rank = suffixRanks[name];
      if (rank !== undefined) {
        push(Kind.Suffix, name, rank);
        if (isDigit(version.charCodeAt(at))) push(Kind.SuffixNumber, digits());
        continue;
      }
    } else if (char === '~' && stage <= Kind.SuffixNumber) {
      at += 1;
      while (at < version.length && /[0-9a-f]/.test(version[at] as string)) at += 1;
      if (at > start + 1) {
        push(Kind.Hash, version.slice(start + 1, at));
        continue;
      }
    } else if (
      char === '-' &&
      version[at + 1] === 'r' &&
      stage < Kind.Revision &&
      isDigit(version.charCodeAt(at + 2))
    ) {
      at += 2;
      push(Kind.Revision, digits());
      continue;
    }
    tokens.push({ kind: Kind.Invalid, text: version.slice(start), rank: 0, first: false });
    break;
  }
  return tokens;
}

function compareStrings(a: string, b: string): VersionOrder {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric order of two digit strings of any length. */
function compareNumbers(a: string, b: string): VersionOrder {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return compareStrings(x, y);
}

function compareTokens(a: Token, b: Token): VersionOrder {
  switch (a.kind) {
    case Kind.Number:
      if (!a.first && (a.text.startsWith('0') || b.text.startsWith('0'))) return compareStrings(a.text, b.text);
      return compareNumbers(a.text, b.text);
    case Kind.Letter:
    case Kind.Suffix:
      return a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0;
    case Kind.SuffixNumber:
    case Kind.Revision:
      return compareNumbers(a.text, b.text);
    default:
      return compareStrings(a.text, b.text);
  }
}

const end: Token = { kind: Kind.End, text: '', rank: 0, first: false };
const isPreRelease = (token: Token): boolean => token.kind === Kind.Suffix && token.rank < 0;

/**
 * apk's order of two versions: -1, 0 or 1. With `fuzzy`, `b` is a prefix pattern: once its
 * tokens are used up the versions count as equal (3.6.9 ~ 3.6).
 */
export function compareVersions(a: string, b: string, fuzzy = false): VersionOrder {
  if (a === b) return 0;
  const left = tokenize(a);
  const right = tokenize(b);
  for (let index = 0; ; index += 1) {
    const x = left[index] ?? end;
    const y = right[index] ?? end;
    if (fuzzy && y.kind === Kind.End) return 0;
    if (x.kind !== y.kind) {
      if (isPreRelease(x)) return -1;
      if (isPreRelease(y)) return 1;
      return x.kind > y.kind ? -1 : 1;
    }
    if (x.kind === Kind.End) return 0;
    const order = compareTokens(x, y);
    if (order !== 0) return order;
  }
}

/** Result bit of an order, to test against a constraint's mask. */
export function orderBit(order: VersionOrder): number {
  return order < 0 ? LESS : order > 0 ? GREATER : EQUAL;
}

/** Does `version` satisfy `operator target` (mask of LESS | EQUAL | GREATER | FUZZY)? */
export function versionMatches(version: string, mask: number, target: string): boolean {
  return (orderBit(compareVersions(version, target, (mask & FUZZY) !== 0)) & mask) !== 0;
}

/**
 * The mask of a constraint operator: `=`, `<`, `>`, `<=`, `>=`, `~` (also `=~`, `~=`), `<~`,
 * `>~`. Returns undefined for anything else (`><` is a checksum constraint, not a version one).
 */
export function operatorMask(operator: string): number | undefined {
  if (operator === '' || operator === '><' || operator === '<>') return undefined;
  let mask = 0;
  for (const char of operator) {
    const bit = char === '<' ? LESS : char === '>' ? GREATER : char === '=' ? EQUAL : char === '~' ? FUZZY | EQUAL : 0;
    if (bit === 0 || (mask & bit) === bit) return undefined;
    mask |= bit;
  }
  if ((mask & LESS) !== 0 && (mask & GREATER) !== 0) return undefined;
  return mask;
}

/** The canonical text of a mask, as apk prints it (`>=`, `<~`...). */
export function operatorText(mask: number): string {
  const fuzzy = (mask & FUZZY) !== 0;
  const relation = (mask & LESS) !== 0 ? '<' : (mask & GREATER) !== 0 ? '>' : '';
  if (fuzzy) return `${relation}~`;
  return `${relation}${(mask & EQUAL) !== 0 ? '=' : ''}`;
}
