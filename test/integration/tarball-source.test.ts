import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarball } from '../../main/services/boot-media/tarball-source.js';
import { CancelledError } from '../../shared/errors.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const temp = makeTempDir();
let media: SyntheticMedia;

beforeAll(() => {
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.3 });
});
afterAll(() => temp.cleanup());

describe('openTarball', () => {
  it('gives every file of the media with its exact content, read as lent views', async () => {
    const source = await openTarball(media.tarball);
    const seen = new Map<string, string>();
    for await (const entry of source.entries()) {
      if (entry.kind !== 'file') continue;
      const hash = createHash('sha256');
      for await (const chunk of entry.body) hash.update(chunk);
      seen.set(entry.path, hash.digest('hex'));
    }
    expect(seen).toEqual(media.files);
  });

  it('stops reading the file when the consumer stops early', async () => {
    let read = 0;
    const source = await openTarball(media.tarball, { onRead: (bytes) => (read = bytes) });
    for await (const entry of source.entries()) {
      if (entry.kind === 'file') break;
    }
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(source.size / 2);
  });

  it('is cancelled, not stuck, when the signal fired before reading began', async () => {
    const controller = new AbortController();
    const source = await openTarball(media.tarball, { signal: controller.signal });
    controller.abort();
    await expect(source.entries()[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(CancelledError);
  });

  it('is cancelled in the middle of a large file', async () => {
    const controller = new AbortController();
    const source = await openTarball(media.tarball, { signal: controller.signal });
    const reading = (async () => {
      for await (const entry of source.entries()) {
        if (entry.kind !== 'file') continue;
        for await (const chunk of entry.body) {
          void chunk;
          if (entry.path === 'boot/modloop-rpi') controller.abort();
        }
      }
    })();
    await expect(reading).rejects.toBeInstanceOf(CancelledError);
  });
});
