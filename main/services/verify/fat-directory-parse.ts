import {
  ATTR_DIRECTORY,
  ATTR_LONG_NAME,
  ATTR_VOLUME_ID,
  DIRECTORY_ENTRY_SIZE,
  fromFatTimestamp,
  longEntryUnits,
} from '../image/fat-directory.js';
import { readShortName, shortNameChecksum } from '../image/fat-names.js';
import type { FatEntry } from '../image/fat-reader.js';

/**
 * One file or folder entry of a directory, as the reader's FatEntry (the long name when it is
 * intact, else the short name), with the short name's stored bytes for comparisons.
 */
export interface DirectoryRecord extends FatEntry {
  /** The 11 bytes of the short name as stored. */
  shortKey: string;
}

export type DirectoryProblem =
  /** Long-name entries right before `record` do not belong to it: it shows under its short name only. */
  | { kind: 'long-name-mismatch'; record: DirectoryRecord; offset: number; longName: string }
  /** Long-name entries that belong to no entry (no file loses its name). */
  | { kind: 'long-name-orphan'; offset: number; count: number }
  /** A short name with characters FAT forbids. */
  | { kind: 'short-name-invalid'; record: DirectoryRecord };

export interface ParsedDirectory {
  records: DirectoryRecord[];
  /** The `.` and `..` entries when they are the first two, as the specification puts them. */
  dot: DirectoryRecord | null;
  dotDot: DirectoryRecord | null;
  problems: DirectoryProblem[];
}

/** Bytes that no short name may hold (besides control characters). */
const FORBIDDEN_SHORT = new Set([...'"*+,./:;<=>?[\\]|'].map((char) => char.charCodeAt(0)));
/** A long name is at most 255 units: 20 entries of 13. */
const MAX_LONG_ENTRIES = 20;

function shortNameIsValid(bytes: Buffer): boolean {
  if (bytes[0] === 0x20) return false;
  return bytes.every((byte, index) => {
    if (index === 0 && byte === 0x05) return true; // stands for 0xE5
    return byte >= 0x20 && !FORBIDDEN_SHORT.has(byte);
  });
}

interface LongNameRun {
  offset: number;
  count: number;
  /** Started by a "last" entry (0x40), ordinals counting down without a gap, one checksum. */
  valid: boolean;
  expected: number;
  checksum: number;
  units: number[][];
}

function longNameText(run: LongNameRun): string {
  const units = run.units.slice().reverse().flat();
  const end = units.indexOf(0);
  return String.fromCharCode(...(end === -1 ? units : units.slice(0, end)));
}

/**
 * The entries of one directory, from its bytes (all its clusters, in chain order), with the
 * problems FAT drivers and fsck.fat care about. `offsetOf(index)` maps a byte of `data` to its
 * position on the medium. Pure: reads nothing.
 */
export function parseDirectory(data: Buffer, offsetOf: (index: number) => number): ParsedDirectory {
  const parsed: ParsedDirectory = { records: [], dot: null, dotDot: null, problems: [] };
  let pending: LongNameRun | null = null;
  const orphan = (): void => {
    if (pending !== null)
      parsed.problems.push({ kind: 'long-name-orphan', offset: pending.offset, count: pending.count });
    pending = null;
  };
  for (let at = 0, slot = 0; at + DIRECTORY_ENTRY_SIZE <= data.length; at += DIRECTORY_ENTRY_SIZE, slot += 1) {
    const first = data[at] ?? 0;
    if (first === 0x00) break;
    const attributes = data[at + 11] ?? 0;
    if (first === 0xe5) {
      orphan();
      continue;
    }
    if ((attributes & 0x3f) === ATTR_LONG_NAME) {
      const ordinal = first & 0x3f;
      const checksum = data[at + 13] ?? 0;
      if (first & 0x40 || pending === null) {
        orphan();
        const valid = (first & 0x40) !== 0 && ordinal >= 1 && ordinal <= MAX_LONG_ENTRIES;
        pending = { offset: offsetOf(at), count: 0, valid, expected: ordinal, checksum, units: [] };
      } else if (ordinal !== pending.expected - 1 || checksum !== pending.checksum) {
        pending.valid = false;
      } else {
        pending.expected = ordinal;
      }
      pending.count += 1;
      pending.units.push(longEntryUnits(data, at));
      continue;
    }
    const nameBytes = data.subarray(at, at + 11);
    if (attributes & ATTR_VOLUME_ID) {
      orphan();
      continue;
    }
    const record: DirectoryRecord = {
      name: '',
      shortName: readShortName(nameBytes, data[at + 12] ?? 0),
      shortKey: nameBytes.toString('latin1'),
      hasLongName: false,
      isDirectory: (attributes & ATTR_DIRECTORY) !== 0,
      attributes,
      firstCluster: ((data.readUInt16LE(at + 20) << 16) | data.readUInt16LE(at + 26)) >>> 0,
      size: data.readUInt32LE(at + 28),
      mtime: fromFatTimestamp(data.readUInt16LE(at + 24), data.readUInt16LE(at + 22)),
      entryOffset: offsetOf(at),
    };
    record.name = record.shortName;
    const run = pending;
    pending = null;
    if (run !== null) {
      if (run.valid && run.expected === 1 && run.checksum === shortNameChecksum(nameBytes)) {
        record.name = longNameText(run);
        record.hasLongName = true;
      } else {
        parsed.problems.push({ kind: 'long-name-mismatch', record, offset: run.offset, longName: longNameText(run) });
      }
    }
    if (record.shortKey === '.          ' || record.shortKey === '..         ') {
      if (slot === 0 && record.shortKey === '.          ') parsed.dot = record;
      if (slot === 1 && record.shortKey === '..         ') parsed.dotDot = record;
      continue;
    }
    if (!shortNameIsValid(nameBytes)) parsed.problems.push({ kind: 'short-name-invalid', record });
    parsed.records.push(record);
  }
  orphan();
  return parsed;
}
