import { shortNameChecksum, type ShortName } from './fat-names.js';

export const DIRECTORY_ENTRY_SIZE = 32;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = 0x0f;
/** A FAT directory holds at most 65 536 entries (2 MiB). */
export const MAX_DIRECTORY_ENTRIES = 65_536;

const CHARS_PER_LFN_ENTRY = 13;

/** FAT date and time (2-second resolution), in UTC, clamped to 1980-01-01 .. 2107-12-31. */
export function fatTimestamp(unixSeconds: number): { date: number; time: number; tenths: number } {
  const min = Date.UTC(1980, 0, 1) / 1000;
  const max = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;
  const seconds = Math.min(max, Math.max(min, Math.floor(unixSeconds)));
  const when = new Date(seconds * 1000);
  const date = ((when.getUTCFullYear() - 1980) << 9) | ((when.getUTCMonth() + 1) << 5) | when.getUTCDate();
  const time = (when.getUTCHours() << 11) | (when.getUTCMinutes() << 5) | (when.getUTCSeconds() >> 1);
  return { date, time, tenths: (when.getUTCSeconds() & 1) * 100 };
}

/** Back from FAT date and time to Unix seconds (UTC). */
export function fromFatTimestamp(date: number, time: number): number {
  const year = 1980 + (date >> 9);
  const month = ((date >> 5) & 0x0f) - 1;
  const day = date & 0x1f;
  return Date.UTC(year, month, Math.max(1, day), time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000;
}

export interface ShortEntryFields {
  name: Buffer;
  attributes: number;
  caseFlags: number;
  firstCluster: number;
  size: number;
  mtime: number;
}

export function encodeShortEntry(fields: ShortEntryFields, into: Buffer, at: number): void {
  fields.name.copy(into, at, 0, 11);
  into[at + 11] = fields.attributes;
  into[at + 12] = fields.caseFlags;
  const stamp = fatTimestamp(fields.mtime);
  into[at + 13] = stamp.tenths;
  into.writeUInt16LE(stamp.time, at + 14);
  into.writeUInt16LE(stamp.date, at + 16);
  into.writeUInt16LE(stamp.date, at + 18); // last access date
  into.writeUInt16LE((fields.firstCluster >>> 16) & 0xffff, at + 20);
  into.writeUInt16LE(stamp.time, at + 22);
  into.writeUInt16LE(stamp.date, at + 24);
  into.writeUInt16LE(fields.firstCluster & 0xffff, at + 26);
  into.writeUInt32LE(fields.size >>> 0, at + 28);
}

/** Number of 32-byte entries a name takes: long-name entries (if any) plus the short entry. */
export function entryCount(longName: string | null): number {
  return longName === null ? 1 : Math.ceil(longName.length / CHARS_PER_LFN_ENTRY) + 1;
}

/**
 * Write the long-name entries for `longName` (last part first, as stored on disk) followed by
 * nothing: the caller writes the short entry right after. Returns the offset after them.
 */
export function encodeLongEntries(longName: string, shortName: ShortName, into: Buffer, at: number): number {
  const checksum = shortNameChecksum(shortName.bytes);
  const count = Math.ceil(longName.length / CHARS_PER_LFN_ENTRY);
  const units = new Uint16Array(count * CHARS_PER_LFN_ENTRY).fill(0xffff);
  for (let index = 0; index < longName.length; index += 1) units[index] = longName.charCodeAt(index);
  if (longName.length < units.length) units[longName.length] = 0x0000;
  let offset = at;
  for (let ordinal = count; ordinal >= 1; ordinal -= 1) {
    const chunk = units.subarray((ordinal - 1) * CHARS_PER_LFN_ENTRY, ordinal * CHARS_PER_LFN_ENTRY);
    into[offset] = ordinal | (ordinal === count ? 0x40 : 0);
    for (let index = 0; index < 5; index += 1) into.writeUInt16LE(chunk[index] ?? 0xffff, offset + 1 + index * 2);
    into[offset + 11] = ATTR_LONG_NAME;
    into[offset + 12] = 0;
    into[offset + 13] = checksum;
    for (let index = 0; index < 6; index += 1) into.writeUInt16LE(chunk[5 + index] ?? 0xffff, offset + 14 + index * 2);
    into.writeUInt16LE(0, offset + 26);
    for (let index = 0; index < 2; index += 1) into.writeUInt16LE(chunk[11 + index] ?? 0xffff, offset + 28 + index * 2);
    offset += DIRECTORY_ENTRY_SIZE;
  }
  return offset;
}

/** The 13 UTF-16 units one long-name entry carries, in order. */
export function longEntryUnits(entry: Buffer, at: number): number[] {
  const units: number[] = [];
  for (let index = 0; index < 5; index += 1) units.push(entry.readUInt16LE(at + 1 + index * 2));
  for (let index = 0; index < 6; index += 1) units.push(entry.readUInt16LE(at + 14 + index * 2));
  for (let index = 0; index < 2; index += 1) units.push(entry.readUInt16LE(at + 28 + index * 2));
  return units;
}
