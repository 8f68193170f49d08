import { describe, expect, it } from 'vitest';
import { decodeMbr, encodeMbr } from '../../../main/services/image/mbr.js';

describe('MBR', () => {
  it('holds one bootable FAT32-LBA partition at 1 MiB and the 55 AA signature', () => {
    const sector = encodeMbr({
      diskSignature: 0x12345678,
      partitions: [{ start: 2048, sectors: 1_048_576, type: 0x0c, bootable: true }],
    });
    expect(sector.length).toBe(512);
    expect(sector[510]).toBe(0x55);
    expect(sector[511]).toBe(0xaa);
    expect(sector.readUInt32LE(440)).toBe(0x12345678);
    expect(sector[446]).toBe(0x80);
    expect(sector[450]).toBe(0x0c);
    expect(sector.readUInt32LE(454)).toBe(2048);
    expect(sector.readUInt32LE(458)).toBe(1_048_576);
    // The other three entries are empty.
    expect(sector.subarray(462, 510).every((byte) => byte === 0)).toBe(true);
    expect(decodeMbr(sector)).toEqual({
      diskSignature: 0x12345678,
      partitions: [{ start: 2048, sectors: 1_048_576, type: 0x0c, bootable: true }],
    });
  });

  it('writes CHS 1023/254/63 past the CHS limit', () => {
    const sector = encodeMbr({
      diskSignature: 1,
      partitions: [{ start: 2048, sectors: 0xfffff000, type: 0x0c, bootable: true }],
    });
    expect([...sector.subarray(451, 454)]).toEqual([254, 0xff, 0xff]);
    expect([...sector.subarray(447, 450)]).toEqual([32, 33, 0]); // LBA 2048 = C0 H32 S33
  });

  it('carries a message for BIOSes instead of hanging', () => {
    const sector = encodeMbr({ diskSignature: 1, partitions: [] });
    expect(sector.toString('latin1')).toContain('boots with UEFI or the Raspberry Pi firmware only');
  });

  it('returns null without a signature', () => {
    expect(decodeMbr(Buffer.alloc(512))).toBeNull();
  });
});
