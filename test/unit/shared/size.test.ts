import { describe, expect, it } from 'vitest';
import { formatBytes, parseSize } from '../../../shared/model/size.js';

describe('sizes', () => {
  it('reads binary and decimal units', () => {
    expect(parseSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('4GB')).toBe(4e9);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('1048576')).toBe(1048576);
  });

  it('names the field when it cannot read a size', () => {
    expect(() => parseSize('big', '--size')).toThrow(/cannot read "big" as a size/);
    expect(() => parseSize('0MiB', '--size')).toThrow(/not a usable size/);
  });

  it('prints binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2 TiB');
  });
});
