import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopDevices } from '../helpers/loop-devices.js';
import { haveLoopDevices, missing } from '../helpers/requirements.js';
import { makeTempDir } from '../helpers/temp.js';
import { check, copyCard, flipByte, kioskCard, verifyJson } from '../helpers/verify-cards.js';

/**
 * `apkovl verify` on a real block device: a loop device over a card image, read through the
 * uncached (O_DIRECT) reader, so that a page cache that still holds what the card held before
 * cannot hide damage.
 */
describe.skipIf(missing(haveLoopDevices, 'losetup as root (loop devices stand in for cards)'))(
  'apkovl verify on a device',
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let card: string;
    const loops = new LoopDevices();
    beforeAll(async () => {
      temp = makeTempDir('apkovl-verify-device-');
      card = (await kioskCard(temp.dir)).image;
    });
    afterAll(() => {
      loops.detachAll();
      temp.cleanup();
    });
    const verify = (device: string) => verifyJson([device], path.join(temp.dir, 'empty-cache'));

    it('finds the card good on the device, and a byte changed behind a stale page cache', async () => {
      const image = copyCard(card, 'device.img');
      const device = loops.attach(image);
      const good = verify(device);
      expect(good.status, good.stderr).toBe(0);
      expect(good.report.verdict).toBe('good');
      expect(good.report.card.medium).toMatchObject({ kind: 'device', path: device, bytes: (64 << 20) + (1 << 20) });

      // The device's page cache holds the byte as written; then the card changes behind it (in
      // the backing file, which the loop device's cache does not follow): a cached read still
      // shows the good byte, and a verify that read through the cache would pass. (The cache
      // lives while a descriptor is open: the kernel drops it at the device's last close.)
      const cache = openSync(device, 'r');
      try {
        const position = await flipByte(image, 'boot/vmlinuz-rpi', 5000);
        const written = setByte(image, position, (byte) => byte ^ 0xff); // as written again
        expect(cachedByte(cache, position)).toBe(written);
        setByte(image, position, (byte) => byte ^ 0xff);
        expect(cachedByte(cache, position)).toBe(written);

        const damaged = verify(device);
        expect(damaged.status).toBe(1);
        expect(damaged.report.verdict).toBe('damaged');
        const problem = check(damaged.report, 'manifest').problems[0];
        expect(problem?.paths).toEqual(['boot/vmlinuz-rpi']);
        expect(problem?.ranges.some((range) => range.start <= position && position < range.end)).toBe(true);
        expect(cachedByte(cache, position)).toBe(written);
      } finally {
        closeSync(cache);
      }
    });
  },
);

/** The byte at `position` read through the device's page cache. */
function cachedByte(descriptor: number, position: number): number {
  const byte = Buffer.alloc(1);
  readSync(descriptor, byte, 0, 1, position);
  return byte[0] ?? -1;
}

/** Change one byte of a file in place; the new value. */
function setByte(file: string, position: number, change: (byte: number) => number): number {
  const descriptor = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(descriptor, byte, 0, 1, position);
    const value = change(byte[0] ?? 0);
    writeSync(descriptor, Buffer.from([value]), 0, 1, position);
    return value;
  } finally {
    closeSync(descriptor);
  }
}
