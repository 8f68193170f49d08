import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { APKOVL_LIMITS, readApkovl } from '../../../main/services/overlay/apkovl-reader.js';
import { overlayBomb, tarFile, tarHeader, zeroBomb } from '../../helpers/raw-tar.js';

const MiB = 1 << 20;

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

function apkovl(...members: Buffer[]): Buffer {
  return zlib.gzipSync(Buffer.concat([...members, Buffer.alloc(1024)]));
}

describe('overlay limits', () => {
  it('stops a bomb (300 MiB of zeros in about 300 KB) at the unpacked limit, saying which limit and the numbers', async () => {
    const bomb = overlayBomb(304 * MiB);
    expect(bomb.length).toBeLessThan(400_000);
    const error = await failure(readApkovl(bomb, 'bomb.apkovl.tar.gz'));
    expect(error.code).toBe('invalid-input');
    expect(error.message).toMatch(/^the overlay unpacks to more than 256 MiB \(\d+ KiB packed\)/);
    expect(error.message).toMatch(/unpacks it into RAM at every boot/);
    expect(error.location).toBe(`bomb.apkovl.tar.gz, at byte ${256 * MiB} of the unpacked tar`);
    expect(error.hint).toMatch(/keep large files out of the apkovl/);
  });

  it('says so for a 2 MB file that inflates to 2 GiB (not "the gzip data is damaged")', async () => {
    const bomb = overlayBomb(2048 * MiB, 'many');
    const error = await failure(readApkovl(bomb, 'big.apkovl.tar.gz'));
    expect(error.message).toMatch(/^the overlay unpacks to more than 256 MiB/);
    expect(error.message).not.toMatch(/damaged/);
  });

  it('counts what follows the end of the archive too (a tar of zero blocks)', async () => {
    const zeros = zeroBomb(Buffer.alloc(0), 304 * MiB);
    const error = await failure(readApkovl(zeros, 'zeros.apkovl.tar.gz'));
    expect(error.message).toMatch(/more than 256 MiB/);
  });

  for (const members of ['one', 'many'] as const) {
    it(`accepts an overlay just under the unpacked limit (${members} gzip member${members === 'one' ? '' : 's'}), keeping only the size of big files`, async () => {
      const read = await readApkovl(overlayBomb(248 * MiB, members), 'under.apkovl.tar.gz');
      expect(read.map((member) => [member.name, member.size, member.content === null])).toEqual([
        ['etc/', 0, true],
        ['etc/hostname', 5, false],
        ['etc/zero', 248 * MiB - 1024, true],
      ]);
    });
  }

  it(`refuses more than ${APKOVL_LIMITS.members} members`, async () => {
    const count = APKOVL_LIMITS.members + 1;
    const tar = Buffer.alloc((count + 2) * 512);
    for (let index = 0; index < count; index += 1) tarHeader(`etc/f${index}`, 0).copy(tar, index * 512);
    const error = await failure(readApkovl(zlib.gzipSync(tar, { level: 1 }), 'many.apkovl.tar.gz'));
    expect(error.code).toBe('invalid-input');
    expect(error.message).toMatch(/^the overlay has more than 65536 members/);
    expect(error.location).toBe(`many.apkovl.tar.gz, member "etc/f65536" (byte ${65536 * 512} of the unpacked tar)`);
    expect(error.hint).toMatch(/leave out/);
  });

  it('keeps contents within a budget, but always the files the checks read by name (the last of each)', async () => {
    const limits = { ...APKOVL_LIMITS, keptContent: 2500 };
    const members = await readApkovl(
      apkovl(
        tarFile('etc/hostname', 'first\n'),
        tarFile('etc/a.txt', 'a'.repeat(1000)),
        tarFile('etc/b.txt', 'b'.repeat(1000)),
        tarFile('etc/c.txt', 'c'.repeat(1000)),
        tarFile('etc/big.bin', Buffer.alloc(APKOVL_LIMITS.keepContent + 1)),
        tarFile('etc/hostname', 'second\n'),
        tarFile('etc/apk/world', 'alpine-base\n'),
      ),
      'kept.apkovl.tar.gz',
      limits,
    );
    const contents = members.map((member) =>
      member.content === null ? null : Buffer.from(member.content).toString('latin1').slice(0, 8),
    );
    expect(contents).toEqual([null, 'aaaaaaaa', 'bbbbbbbb', null, null, 'second\n', 'alpine-b']);
    expect(members.map((member) => member.size)).toEqual([6, 1000, 1000, 1000, APKOVL_LIMITS.keepContent + 1, 7, 12]);
  });

  it('reports data after the gzip data with its byte offset', async () => {
    const good = apkovl(tarFile('etc/hostname', 'host\n'));
    const error = await failure(readApkovl(Buffer.concat([good, Buffer.from('garbage')]), 'trailing.apkovl.tar.gz'));
    expect(error.code).toBe('invalid-input');
    expect(error.location).toBe(
      `trailing.apkovl.tar.gz, byte ${good.length} of the file (the first byte after the gzip data)`,
    );
    expect(error.hint).toMatch(/pack it again/);
    // Zeros after it are padding.
    await expect(readApkovl(Buffer.concat([good, Buffer.alloc(512)]), 'padded.apkovl.tar.gz')).resolves.toHaveLength(1);
  });

  it('reads the same members from the file as from its bytes', async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'apkovl-reader-'));
    try {
      const data = apkovl(tarHeader('etc/', 0, '5'), tarFile('etc/hostname', 'host\n'));
      const file = path.join(dir, 'host.apkovl.tar.gz');
      writeFileSync(file, data);
      expect(await readApkovl({ path: file }, file)).toEqual(await readApkovl(data, file));
      const missing = await failure(readApkovl({ path: path.join(dir, 'none.apkovl.tar.gz') }, 'none.apkovl.tar.gz'));
      expect(missing.code).toBe('not-found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
