import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';

/**
 * File names on FAT: validation of long (VFAT) names, 8.3 short-name generation as in
 * Microsoft's FAT specification ("Basis-Name Generation Algorithm" and "Numeric-Tail
 * Generation Algorithm"), and the checksum that ties long-name entries to their short entry.
 */

/** Characters allowed in a short (8.3) name besides A-Z and 0-9. */
const SHORT_EXTRA = "!#$%&'()-@^_`{}~";
/** Characters a long name may hold that a short name may not: replaced by `_` (lossy). */
const LONG_ONLY = '+,;=[] ';
/** Never allowed in any FAT name. */
const FORBIDDEN = '"*/:<>?\\|';

export const MAX_LONG_NAME_UNITS = 255;

function isShortChar(char: string): boolean {
  return /^[A-Z0-9]$/.test(char) || SHORT_EXTRA.includes(char);
}

/**
 * Why a long name cannot be stored on FAT, or null when it can. Checks what Windows, Linux
 * (vfat) and macOS all refuse: control characters, the nine reserved characters, trailing
 * dots or spaces, "." and "..", and names longer than 255 UTF-16 units.
 */
export function longNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name === '.' || name === '..') return `"${name}" is reserved`;
  if (name.length > MAX_LONG_NAME_UNITS) {
    return `the name is ${name.length} characters long; FAT allows ${MAX_LONG_NAME_UNITS}`;
  }
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20) return `it contains the control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
    if (FORBIDDEN.includes(char)) return `it contains "${char}", which FAT does not allow in names`;
  }
  if (/[ .]$/.test(name)) return 'it ends with a dot or a space, which FAT drops';
  return null;
}

export function assertLongName(name: string, path: string): void {
  const problem = longNameProblem(name);
  if (problem !== null) {
    throw new AppError('invalid-input', `FAT cannot store the name "${displayText(name)}": ${problem}`, {
      location: displayText(path),
      hint: 'rename the file in the source, or leave it out',
    });
  }
}

/** Upper-case the way FAT compares names: per character, never changing the length. */
export function foldName(name: string): string {
  let folded = '';
  for (const char of name) {
    const upper = char.toUpperCase();
    folded += upper.length === char.length ? upper : char;
  }
  return folded;
}

/** True for a name that is already a valid upper-case 8.3 name and needs no long-name entries. */
export function isPlainShortName(name: string): boolean {
  const match = /^([^.]{1,8})(?:\.([^.]{1,3}))?$/.exec(name);
  if (match === null) return false;
  const base = match[1] ?? '';
  const extension = match[2] ?? '';
  return [...base, ...extension].every(isShortChar);
}

/** Base and extension of a plain 8.3 name. */
export function splitShortName(name: string): { base: string; extension: string } {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? { base: name, extension: '' } : { base: name.slice(0, dot), extension: name.slice(dot + 1) };
}

/** 11 bytes of a short name: base padded to 8, extension padded to 3. */
export function shortNameBytes(base: string, extension: string): Buffer {
  const bytes = Buffer.from(base.padEnd(8, ' ') + extension.padEnd(3, ' '), 'latin1');
  if (bytes[0] === 0xe5) bytes[0] = 0x05; // 0xE5 marks a deleted entry
  return bytes;
}

export interface ShortName {
  base: string;
  extension: string;
  /** The 11 bytes stored in the directory entry. */
  bytes: Buffer;
  /** Case flags for byte 12 (NT): 0x08 base in lower case, 0x10 extension in lower case. */
  caseFlags: number;
}

interface Basis {
  base: string;
  extension: string;
  /** True when the long name cannot be rebuilt from the basis (needs a numeric tail). */
  lossy: boolean;
}

function convert(part: string): { text: string; lossy: boolean } {
  let text = '';
  let lossy = false;
  for (const char of part) {
    const upper = foldName(char);
    if (isShortChar(upper)) text += upper;
    else if (char === ' ' || char === '.') lossy = true;
    else {
      text += '_';
      lossy = true;
    }
  }
  return { text, lossy };
}

/** The specification's basis name: upper case, invalid characters as `_`, 8 + 3 characters. */
export function basisName(longName: string): Basis {
  const withoutLeadingDots = longName.replace(/^\.+/, '');
  let lossy = withoutLeadingDots.length !== longName.length;
  const lastDot = withoutLeadingDots.lastIndexOf('.');
  const primaryPart = lastDot === -1 ? withoutLeadingDots : withoutLeadingDots.slice(0, lastDot);
  const extensionPart = lastDot === -1 ? '' : withoutLeadingDots.slice(lastDot + 1);
  if (primaryPart.includes('.')) lossy = true;
  const primary = convert(primaryPart);
  const extension = convert(extensionPart);
  lossy ||= primary.lossy || extension.lossy;
  if (primary.text.length > 8 || extension.text.length > 3) lossy = true;
  if (LONG_ONLY.split('').some((char) => longName.includes(char))) lossy = true;
  let base = primary.text.slice(0, 8);
  if (base.length === 0) {
    base = '_';
    lossy = true;
  }
  return { base, extension: extension.text.slice(0, 3), lossy };
}

function caseFlagsFor(longName: string, base: string, extension: string): number {
  // Windows NT records "all lower case" per part when the long name is exactly the short
  // name in lower case; Linux and Windows then show the name in lower case without LFN.
  const dot = longName.lastIndexOf('.');
  const longBase = dot === -1 ? longName : longName.slice(0, dot);
  const longExtension = dot === -1 ? '' : longName.slice(dot + 1);
  let flags = 0;
  if (longBase !== base && longBase.toLowerCase() === longBase && foldName(longBase) === base) flags |= 0x08;
  if (
    extension.length > 0 &&
    longExtension !== extension &&
    longExtension.toLowerCase() === longExtension &&
    foldName(longExtension) === extension
  ) {
    flags |= 0x10;
  }
  return flags;
}

/**
 * Choose the short name for `longName` in a directory whose short names so far are `taken`
 * (11-character keys, see shortNameKey). Adds `~N` numeric tails as the specification does
 * when the basis is lossy or already taken.
 */
export function generateShortName(longName: string, taken: ReadonlySet<string>): ShortName {
  const basis = basisName(longName);
  const key = (base: string) => shortNameKey(base, basis.extension);
  if (!basis.lossy && !taken.has(key(basis.base))) {
    return {
      base: basis.base,
      extension: basis.extension,
      bytes: shortNameBytes(basis.base, basis.extension),
      caseFlags: caseFlagsFor(longName, basis.base, basis.extension),
    };
  }
  for (let tail = 1; tail <= 999_999; tail += 1) {
    const suffix = `~${tail}`;
    const base = basis.base.slice(0, 8 - suffix.length) + suffix;
    if (!taken.has(key(base))) {
      return { base, extension: basis.extension, bytes: shortNameBytes(base, basis.extension), caseFlags: 0 };
    }
  }
  throw new AppError('invalid-input', `no free short name for "${displayText(longName)}" in its directory`, {
    hint: 'a FAT directory holds at most 999 999 names with the same short basis',
  });
}

/** Comparable key of a short name (11 characters, as stored). */
export function shortNameKey(base: string, extension: string): string {
  return base.padEnd(8, ' ') + extension.padEnd(3, ' ');
}

/** The checksum of an 11-byte short name, stored in each of its long-name entries. */
export function shortNameChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let index = 0; index < 11; index += 1) {
    sum = (((sum & 1) << 7) + (sum >> 1) + (bytes[index] ?? 0)) & 0xff;
  }
  return sum;
}

/** Turn the 11 stored bytes back into `NAME.EXT`, applying the NT case flags. */
export function readShortName(bytes: Uint8Array, caseFlags: number): string {
  const raw = Buffer.from(bytes.subarray(0, 11));
  if (raw[0] === 0x05) raw[0] = 0xe5;
  let base = raw.toString('latin1', 0, 8).trimEnd();
  let extension = raw.toString('latin1', 8, 11).trimEnd();
  if (caseFlags & 0x08) base = base.toLowerCase();
  if (caseFlags & 0x10) extension = extension.toLowerCase();
  return extension.length > 0 ? `${base}.${extension}` : base;
}
