import { describe, expect, it } from 'vitest';
import { identityDifferences, type DeviceIdentity } from '../../../shared/model/device-identity.js';
import { splitDeviceNumber } from '../../../main/services/flash/device-identity.js';

const card: DeviceIdentity = {
  path: '/dev/mmcblk0',
  name: 'mmcblk0',
  deviceNumber: '179:0',
  size: 31_914_983_424,
  logicalBlockSize: 512,
  model: 'SD32G',
  serial: '035344534433324780a1b2c3d4017e00',
  diskSequence: 12,
  readOnly: false,
  removable: false,
};

describe('device identity', () => {
  it('finds no difference in the same device', () => {
    expect(identityDifferences(card, { ...card })).toEqual([]);
    // Model and flags are for people; they do not decide identity.
    expect(identityDifferences(card, { ...card, model: 'other', readOnly: true })).toEqual([]);
  });

  it('names every field that changed, old and new', () => {
    expect(identityDifferences(card, { ...card, size: 7_948_206_080, serial: 'abc', diskSequence: 13 })).toEqual([
      'size 31914983424 -> 7948206080',
      'serial "035344534433324780a1b2c3d4017e00" -> "abc"',
      'disk sequence number 12 -> 13',
    ]);
    expect(identityDifferences(card, { ...card, deviceNumber: '8:16', serial: null })).toEqual([
      'device number "179:0" -> "8:16"',
      'serial "035344534433324780a1b2c3d4017e00" -> unknown',
    ]);
  });

  it('decodes device numbers as glibc does, large minors included', () => {
    expect(splitDeviceNumber(0x0700n)).toBe('7:0');
    expect(splitDeviceNumber(0xb300n)).toBe('179:0');
    expect(splitDeviceNumber(0x10311n)).toBe('259:17');
    expect(splitDeviceNumber(0x10072cn)).toBe('7:300');
    expect(splitDeviceNumber(0x100000000005n)).toBe('4096:5');
  });
});
