/**
 * The text APKINDEX (the `APKINDEX` member of APKINDEX.tar.gz): one record per package,
 * records separated by blank lines, each line `X:value` with a one-letter field name.
 *
 * Pure and fast (one pass, no regular expressions per line): Alpine's community index, about
 * 25,000 packages, parses in a small fraction of a second. Errors name the source, the line,
 * the field and what is wrong.
 */
import { AppError } from '../../../shared/errors.js';
import { isValidVersion, operatorMask } from './version.js';

/** `name`, `!name`, `name>=1.2`, `name~1.2`, `name><Q1...` as written in D:, i: and a world. */
export interface ApkDependency {
  name: string;
  /** `!name`: no package matching the rest may be installed. */
  conflict: boolean;
  /** Version constraint: a mask of version.ts' LESS | EQUAL | GREATER | FUZZY, with its version. */
  mask?: number;
  version?: string;
  /** `name><Q1...`: only the package with this identity checksum. */
  checksum?: string;
  /** The dependency as written. */
  text: string;
}

/** A `p:` entry: `so:libz.so.1=1.3.1`, `cmd:sh`, `pc:zlib=1.3.1`, a virtual name. */
export interface ApkProvide {
  name: string;
  /** Absent for a non-versioned provide (selectable only with a `k:` priority). */
  version?: string;
  text: string;
}

export interface ApkChecksum {
  /** Q1: SHA-1; Q2: SHA-256 (apk v3 indexes). */
  algorithm: 'sha1' | 'sha256';
  bytes: Uint8Array;
  /** As in the index: `Q1` + base64. */
  text: string;
}

export interface ApkPackage {
  name: string;
  version: string;
  arch?: string;
  /** S: the .apk file's size in bytes. */
  size: number;
  /** I: the installed size in bytes. */
  installedSize: number;
  description?: string;
  url?: string;
  license?: string;
  origin?: string;
  maintainer?: string;
  /** t: build time, seconds since 1970. */
  buildTime?: number;
  /** c: the aports commit it was built from. */
  commit?: string;
  depends: ApkDependency[];
  provides: ApkProvide[];
  installIf: ApkDependency[];
  /** k: provider priority; undefined when absent. */
  providerPriority?: number;
  /** C: the hash of the package's control stream. */
  checksum: ApkChecksum;
  /** Line of the record's first field, for messages. */
  line: number;
}

export interface ApkIndex {
  /** What the index is called in messages and results (e.g. `main`, or a URL). */
  source: string;
  packages: ApkPackage[];
}

export interface ParseIndexOptions {
  source?: string;
}

class FieldError extends Error {}

/** `<`, `>`, `=` or `~`: where a dependency's name ends. */
const isOperatorCode = (code: number): boolean => code === 60 || code === 62 || code === 61 || code === 126;

/** Parse one dependency (`!foo>2`, `so:libc.musl-x86_64.so.1`, `bar><Q1...`). */
export function parseDependency(text: string): ApkDependency {
  const conflict = text.startsWith('!');
  const body = conflict ? text.slice(1) : text;
  let at = 0;
  while (at < body.length && !isOperatorCode(body.charCodeAt(at))) at += 1;
  const name = body.slice(0, at);
  if (name === '') throw new FieldError(`"${text}" has no package name`);
  if (at === body.length) return { name, conflict, text };
  let end = at;
  while (end < body.length && isOperatorCode(body.charCodeAt(end))) end += 1;
  const operator = body.slice(at, end);
  const value = body.slice(end);
  if (value === '') throw new FieldError(`"${text}" has the operator ${operator} but no version after it`);
  if (operator === '><') {
    if (!value.startsWith('Q')) throw new FieldError(`"${text}": ><  must be followed by a Q1/Q2 checksum`);
    return { name, conflict, checksum: value, text };
  }
  const mask = operatorMask(operator);
  if (mask === undefined)
    throw new FieldError(`"${text}" has the unknown operator "${operator}" (use =, <, >, <=, >=, ~, <~ or >~)`);
  return { name, conflict, mask, version: value, text };
}

function parseProvide(text: string): ApkProvide {
  const at = text.indexOf('=');
  if (at < 0) return { name: text, text };
  const name = text.slice(0, at);
  const version = text.slice(at + 1);
  if (name === '') throw new FieldError(`"${text}" has no name before =`);
  if (!isValidVersion(version)) throw new FieldError(`"${text}": "${version}" is not a valid apk version`);
  return { name, version, text };
}

/** Decode a `C:` value: `Q1` + base64 of a SHA-1 (or `Q2` + base64 of a SHA-256). */
export function parseChecksum(text: string): ApkChecksum {
  const kind = text.slice(0, 2);
  const algorithm = kind === 'Q1' ? 'sha1' : kind === 'Q2' ? 'sha256' : undefined;
  if (algorithm === undefined)
    throw new FieldError(`"${text}" is not a Q1 (SHA-1) or Q2 (SHA-256) checksum; the index may be too old or damaged`);
  const encoded = text.slice(2);
  const length = algorithm === 'sha1' ? 20 : 32;
  const bytes = Buffer.from(encoded, 'base64');
  // Decoding skips stray characters, so only an exact round trip proves the text is base64.
  if (bytes.length !== length || bytes.toString('base64') !== encoded)
    throw new FieldError(`"${text}" is not base64 of a ${length}-byte ${algorithm === 'sha1' ? 'SHA-1' : 'SHA-256'}`);
  return { algorithm, bytes: new Uint8Array(bytes), text };
}

function parseCount(value: string, what: string): number {
  let valid = value.length > 0 && value.length <= 15;
  for (let at = 0; valid && at < value.length; at += 1) {
    const code = value.charCodeAt(at);
    valid = code >= 48 && code <= 57;
  }
  if (!valid) throw new FieldError(`${what} "${value}" is not a whole number`);
  return Number(value);
}

function parseList<T>(value: string, parse: (item: string) => T): T[] {
  const items: T[] = [];
  for (const item of value.split(' ')) if (item !== '') items.push(parse(item));
  return items;
}

interface Draft extends Partial<ApkPackage> {
  line: number;
}

function applyField(draft: Draft, field: string, value: string): void {
  switch (field) {
    case 'P':
      if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(value))
        throw new FieldError(`"${value}" is not a package name (letters, digits and . _ + -)`);
      draft.name = value;
      break;
    case 'V':
      if (!isValidVersion(value)) throw new FieldError(`"${value}" is not a valid apk version`);
      draft.version = value;
      break;
    case 'A':
      draft.arch = value;
      break;
    case 'S':
      draft.size = parseCount(value, 'the size');
      break;
    case 'I':
      draft.installedSize = parseCount(value, 'the installed size');
      break;
    case 'T':
      draft.description = value;
      break;
    case 'U':
      draft.url = value;
      break;
    case 'L':
      draft.license = value;
      break;
    case 'o':
      draft.origin = value;
      break;
    case 'm':
      draft.maintainer = value;
      break;
    case 't':
      draft.buildTime = parseCount(value, 'the build time');
      break;
    case 'c':
      draft.commit = value;
      break;
    case 'D':
      draft.depends = parseList(value, parseDependency);
      break;
    case 'p':
      draft.provides = parseList(value, parseProvide);
      break;
    case 'i':
      draft.installIf = parseList(value, parseDependency);
      break;
    case 'k':
      draft.providerPriority = parseCount(value, 'the provider priority');
      break;
    case 'C':
      draft.checksum = parseChecksum(value);
      break;
    default:
    // Fields apk does not need for resolution (r: replaces, q: replaces priority...) are skipped.
  }
}

/** Parse a whole APKINDEX text into its packages, in file order. */
export function parseApkIndex(text: string, options: ParseIndexOptions = {}): ApkIndex {
  const source = options.source ?? 'APKINDEX';
  const packages: ApkPackage[] = [];
  const fail = (line: number, message: string, hint?: string): never => {
    throw new AppError('invalid-input', `${source} line ${line}: ${message}`, {
      location: `${source}:${line}`,
      hint: hint ?? 'the repository index is damaged or not an APKINDEX; download it again',
    });
  };
  let draft: Draft | undefined;
  /** For each field letter, the line of the record that last had it. */
  const seenIn = new Int32Array(128);
  const finish = (): void => {
    if (draft === undefined) return;
    const record = draft.line;
    const missing = ['P', 'V', 'C'].filter((field) => seenIn[field.charCodeAt(0)] !== record);
    if (missing.length > 0)
      fail(
        draft.line,
        `the package record starting here has no ${missing.map((field) => `${field}:`).join(', ')} field`,
      );
    packages.push({
      name: draft.name as string,
      version: draft.version as string,
      arch: draft.arch,
      size: draft.size ?? 0,
      installedSize: draft.installedSize ?? 0,
      description: draft.description,
      url: draft.url,
      license: draft.license,
      origin: draft.origin,
      maintainer: draft.maintainer,
      buildTime: draft.buildTime,
      commit: draft.commit,
      depends: draft.depends ?? [],
      provides: draft.provides ?? [],
      installIf: draft.installIf ?? [],
      providerPriority: draft.providerPriority,
      checksum: draft.checksum as ApkChecksum,
      line: draft.line,
    });
    draft = undefined;
  };
  let start = 0;
  let lineNumber = 0;
  while (start <= text.length) {
    let stop = text.indexOf('\n', start);
    if (stop < 0) stop = text.length;
    lineNumber += 1;
    const lineStart = start;
    start = stop + 1;
    if (stop > lineStart && text.charCodeAt(stop - 1) === 13) stop -= 1; // CRLF
    if (stop === lineStart) {
      finish();
      continue;
    }
    const code = text.charCodeAt(lineStart);
    const letter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    if (stop - lineStart < 2 || !letter || text.charCodeAt(lineStart + 1) !== 58)
      fail(
        lineNumber,
        `"${text.slice(lineStart, Math.min(stop, lineStart + 40))}" is not a field (expected a letter, a colon and a value, like P:busybox)`,
      );
    const field = text[lineStart] as string;
    draft ??= { line: lineNumber };
    if (seenIn[code] === draft.line)
      fail(lineNumber, `field ${field}: appears twice in the record of line ${draft.line}`);
    seenIn[code] = draft.line;
    try {
      applyField(draft, field, text.slice(lineStart + 2, stop));
    } catch (error) {
      if (error instanceof FieldError) fail(lineNumber, `field ${field}: ${error.message}`);
      throw error;
    }
  }
  finish();
  return { source, packages };
}
