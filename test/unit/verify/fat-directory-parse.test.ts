import { describe, expect, it } from 'vitest';
import {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  DIRECTORY_ENTRY_SIZE,
  encodeLongEntries,
  encodeShortEntry,
} from '../../../main/services/image/fat-directory.js';
import { generateShortName, shortNameBytes } from '../../../main/services/image/fat-names.js';
import { parseDirectory } from '../../../main/services/verify/fat-directory-parse.js';

const MTIME = Date.UTC(2025, 0, 1) / 1000;
const BASE = 1_000_000;

/** Directory bytes built entry by entry with the builder's own encoders. */
class Folder {
  readonly data = Buffer.alloc(64 * DIRECTORY_ENTRY_SIZE);
  at = 0;

  short(name: Buffer, options: { directory?: boolean; cluster?: number; size?: number } = {}): this {
    encodeShortEntry(
      {
        name,
        attributes: options.directory ? ATTR_DIRECTORY : ATTR_ARCHIVE,
        caseFlags: 0,
        firstCluster: options.cluster ?? 5,
        size: options.size ?? 10,
        mtime: MTIME,
      },
      this.data,
      this.at,
    );
    this.at += DIRECTORY_ENTRY_SIZE;
    return this;
  }

  /** A long name and its short entry; `breakLong` changes the long entries before the short one is written. */
  named(longName: string, breakLong?: (data: Buffer, start: number, end: number) => void): this {
    const shortName = generateShortName(longName, new Set());
    const start = this.at;
    this.at = encodeLongEntries(longName, shortName, this.data, this.at);
    breakLong?.(this.data, start, this.at);
    return this.short(shortName.bytes);
  }

  deleted(): this {
    this.data[this.at] = 0xe5;
    this.at += DIRECTORY_ENTRY_SIZE;
    return this;
  }

  parse() {
    return parseDirectory(this.data, (index) => BASE + index);
  }
}

describe('parseDirectory', () => {
  it('reads long names, sizes and clusters, and stops at the end marker', () => {
    const folder = new Folder()
      .named('vmlinuz-rpi')
      .short(shortNameBytes('CONFIG', 'TXT'), { cluster: 70_000, size: 3 });
    const end = folder.at;
    folder.at += DIRECTORY_ENTRY_SIZE; // an end marker (zeros), then an entry nobody may see
    folder.short(shortNameBytes('HIDDEN', ''));
    const parsed = folder.parse();
    expect(parsed.problems).toEqual([]);
    expect(parsed.records.map((record) => [record.name, record.hasLongName, record.firstCluster, record.size])).toEqual(
      [
        ['vmlinuz-rpi', true, 5, 10],
        ['CONFIG.TXT', false, 70_000, 3],
      ],
    );
    expect(parsed.records[1]!.entryOffset).toBe(BASE + end - DIRECTORY_ENTRY_SIZE);
    expect(parsed.records[0]!.mtime).toBe(MTIME);
  });

  it('takes "." and ".." from the first two entries only', () => {
    const dot = Buffer.from('.          ', 'latin1');
    const dotDot = Buffer.from('..         ', 'latin1');
    const parsed = new Folder()
      .short(dot, { directory: true, cluster: 9 })
      .short(dotDot, { directory: true, cluster: 0 })
      .parse();
    expect([parsed.dot?.firstCluster, parsed.dotDot?.firstCluster, parsed.records]).toEqual([9, 0, []]);
    const swapped = new Folder().short(dotDot, { directory: true }).short(dot, { directory: true }).parse();
    expect([swapped.dot, swapped.dotDot]).toEqual([null, null]);
  });

  it('a long name whose checksum does not match its short entry: the file keeps only its short name', () => {
    const broken = new Folder().named('initramfs-rpi', (data, start, end) => {
      for (let at = start; at < end; at += DIRECTORY_ENTRY_SIZE) data[at + 13]! ^= 0x55;
    });
    const result = broken.parse();
    expect(result.records.map((record) => [record.name, record.hasLongName])).toEqual([['INITRA~1', false]]);
    expect(result.problems).toMatchObject([{ kind: 'long-name-mismatch', longName: 'initramfs-rpi', offset: BASE }]);
  });

  it('long-name entries out of order, or without their first part, also lose the name', () => {
    const reordered = new Folder().named('a name long enough for two entries', (data, start) => {
      data[start + DIRECTORY_ENTRY_SIZE] = 0x03; // ordinal 3 where 1 belongs
    });
    expect(reordered.parse().problems.map((problem) => problem.kind)).toEqual(['long-name-mismatch']);
    const headless = new Folder().named('a name long enough for two entries', (data, start) => {
      data[start] = 0xe5; // the first stored part (0x40 | 2) deleted
    });
    const result = headless.parse();
    expect(result.problems.map((problem) => problem.kind)).toEqual(['long-name-mismatch']);
    expect(result.records[0]!.hasLongName).toBe(false);
  });

  it('long-name entries that belong to no file are orphans, and the next name still reads', () => {
    const deleted = new Folder();
    deleted.at = encodeLongEntries('lost name', generateShortName('lost name', new Set()), deleted.data, 0);
    const parsed = deleted.deleted().named('kept name').parse(); // the short entry of "lost name" was deleted
    expect(parsed.problems).toEqual([{ kind: 'long-name-orphan', offset: BASE, count: 1 }]);
    expect(parsed.records.map((record) => record.name)).toEqual(['kept name']);
    // A new long name starting while one is pending: the pending one is the orphan.
    const interrupted = new Folder();
    interrupted.at = encodeLongEntries('first', generateShortName('first', new Set()), interrupted.data, 0);
    const second = interrupted.named('second').parse();
    expect(second.problems).toEqual([{ kind: 'long-name-orphan', offset: BASE, count: 1 }]);
    expect(second.records.map((record) => record.name)).toEqual(['second']);
    // Long-name entries right before the end of the folder.
    const trailing = new Folder().named('kept name');
    trailing.at = encodeLongEntries('dangling', generateShortName('dangling', new Set()), trailing.data, trailing.at);
    expect(trailing.parse().problems).toMatchObject([{ kind: 'long-name-orphan', count: 1 }]);
  });

  it('flags short names with characters FAT forbids', () => {
    const parsed = new Folder()
      .short(Buffer.from('BAD*NAMETXT', 'latin1'))
      .short(Buffer.from('CTRL\x01   BIN', 'latin1'))
      .short(Buffer.from('\x05SCAPED TXT', 'latin1'))
      .parse();
    expect(parsed.problems.map((problem) => problem.kind === 'short-name-invalid' && problem.record.shortKey)).toEqual([
      'BAD*NAMETXT',
      'CTRL\x01   BIN',
    ]);
  });
});
