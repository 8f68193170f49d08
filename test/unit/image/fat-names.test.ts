import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  basisName,
  foldName,
  generateShortName,
  isPlainShortName,
  longNameProblem,
  readShortName,
  shortNameChecksum,
  shortNameKey,
} from '../../../main/services/image/fat-names.js';

function shortFor(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    const short = generateShortName(name, taken);
    taken.add(shortNameKey(short.base, short.extension));
    return short.extension ? `${short.base}.${short.extension}` : short.base;
  });
}

describe('short names', () => {
  it('keeps plain upper-case 8.3 names as they are', () => {
    expect(isPlainShortName('CONFIG.TXT')).toBe(true);
    expect(isPlainShortName('BOOT')).toBe(true);
    expect(isPlainShortName('config.txt')).toBe(false);
    expect(isPlainShortName('APKINDEX.TAR.GZ')).toBe(false);
    expect(isPlainShortName('ABCDEFGHI')).toBe(false);
  });

  it('follows the specification for the names on Alpine media', () => {
    expect(shortFor(['config.txt'])).toEqual(['CONFIG.TXT']);
    expect(shortFor(['.boot_repository'])).toEqual(['BOOT_R~1']);
    expect(shortFor(['.alpine-release'])).toEqual(['ALPINE~1']);
    expect(shortFor(['APKINDEX.tar.gz'])).toEqual(['APKIND~1.GZ']);
    expect(shortFor(['bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4.dtb'])).toEqual([
      'BCM271~1.DTB',
      'BCM271~2.DTB',
      'BCM271~3.DTB',
    ]);
    expect(shortFor(['kiosk-hall.apkovl.tar.gz'])).toEqual(['KIOSK-~1.GZ']);
    expect(shortFor(['vc4-kms-v3d.dtbo'])).toEqual(['VC4-KM~1.DTB']);
  });

  it('replaces characters a short name cannot hold and marks the name lossy', () => {
    expect(basisName('a+b.txt')).toEqual({ base: 'A_B', extension: 'TXT', lossy: true });
    expect(basisName('my file.txt')).toEqual({ base: 'MYFILE', extension: 'TXT', lossy: true });
    expect(basisName('café.txt').lossy).toBe(true);
    expect(shortFor(['a+b.txt'])).toEqual(['A_B~1.TXT']);
  });

  it('sets the NT lower-case flags when the long name is the short name in lower case', () => {
    expect(generateShortName('config.txt', new Set()).caseFlags).toBe(0x18);
    expect(generateShortName('README.txt', new Set()).caseFlags).toBe(0x10);
    expect(generateShortName('boot', new Set()).caseFlags).toBe(0x08);
    expect(generateShortName('Boot', new Set()).caseFlags).toBe(0);
    expect(readShortName(generateShortName('config.txt', new Set()).bytes, 0x18)).toBe('config.txt');
  });

  it('computes the long-name checksum of the specification', () => {
    // Worked by hand: rotate right, add each of the 11 bytes.
    const bytes = Buffer.from('CONFIG  TXT', 'latin1');
    let sum = 0;
    for (const byte of bytes) sum = (((sum & 1) << 7) + (sum >> 1) + byte) & 0xff;
    expect(shortNameChecksum(bytes)).toBe(sum);
    expect(shortNameChecksum(Buffer.from('BOOT_R~1   ', 'latin1'))).not.toBe(
      shortNameChecksum(Buffer.from('BOOT_R~2   ', 'latin1')),
    );
  });

  it('refuses names FAT cannot hold, and says why', () => {
    expect(longNameProblem('a:b')).toMatch(/":"/);
    expect(longNameProblem('what?')).toMatch(/"\?"/);
    expect(longNameProblem('tab\there')).toMatch(/U\+0009/);
    expect(longNameProblem('trailing.')).toMatch(/ends with a dot/);
    expect(longNameProblem('..')).toMatch(/reserved/);
    expect(longNameProblem('x'.repeat(256))).toMatch(/255/);
    expect(longNameProblem('x'.repeat(255))).toBeNull();
    expect(longNameProblem('.boot_repository')).toBeNull();
  });
});

const shortChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()-@^_`{}~";
const validShort = /^[A-Z0-9!#$%&'()\-@^_`{}~]{1,8}(\.[A-Z0-9!#$%&'()\-@^_`{}~]{1,3})?$/;

const longName = fc
  .string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'abcXYZ019 .-_+,;=[]~éß€'.split('')) })
  .filter((name) => longNameProblem(name) === null);

describe('short-name properties', () => {
  it('always gives a valid, unique 8.3 name per directory', () => {
    fc.assert(
      fc.property(fc.uniqueArray(longName, { minLength: 1, maxLength: 60, selector: foldName }), (names) => {
        const shorts = shortFor(names);
        for (const short of shorts) expect(short).toMatch(validShort);
        expect(new Set(shorts).size).toBe(shorts.length);
      }),
    );
  });

  it('never changes a plain 8.3 name and never needs long entries for it', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...shortChars.split('')) }),
        fc.string({ minLength: 0, maxLength: 3, unit: fc.constantFrom(...shortChars.split('')) }),
        (base, extension) => {
          const name = extension ? `${base}.${extension}` : base;
          expect(isPlainShortName(name)).toBe(true);
          expect(shortFor([name])).toEqual([name]);
        },
      ),
    );
  });

  it('keeps the checksum in one byte and sensitive to every position', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 11, maxLength: 11 }),
        fc.integer({ min: 0, max: 10 }),
        (bytes, position) => {
          const sum = shortNameChecksum(bytes);
          expect(sum).toBeGreaterThanOrEqual(0);
          expect(sum).toBeLessThan(256);
          const changed = Uint8Array.from(bytes);
          changed[position] = ((changed[position] ?? 0) + 1) & 0xff;
          expect(shortNameChecksum(changed)).not.toBe(sum);
        },
      ),
    );
  });
});
