import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { AppError } from '../../../shared/errors.js';
import type { ApkovlMember } from '../../../shared/rules/apkovl-lint.js';

/** Largest member content kept in memory for the lint rules; bigger files keep only their size. */
const KEEP_CONTENT = 1 << 20;
const MAX_UNPACKED = 1 << 30;

/** An apkovl's members as stored (names, types, modes, owners, small contents). */
export async function readApkovl(data: Buffer, location: string): Promise<ApkovlMember[]> {
  if (data[0] !== 0x1f || data[1] !== 0x8b) {
    throw new AppError('invalid-input', 'this is not gzip (no 1f 8b magic at byte 0); an apkovl must be a .tar.gz', {
      location,
      hint: 'pack it with tar -czf host.apkovl.tar.gz etc ...',
    });
  }
  let tarData: Buffer;
  try {
    tarData = zlib.gunzipSync(data, { maxOutputLength: MAX_UNPACKED });
  } catch (error) {
    throw new AppError(
      'invalid-input',
      `the gzip data is damaged (${(error as Error).message}); the initramfs would stop in an emergency shell`,
      {
        location,
        cause: error,
      },
    );
  }
  const members: ApkovlMember[] = [];
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const header = entry.header;
      const chunks: Buffer[] = [];
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        size += chunk.length;
        hash.update(chunk);
        if (size <= KEEP_CONTENT) chunks.push(chunk);
      }
      const isFile = header.type === 'file' || header.type === 'contiguous-file';
      members.push({
        name: header.name,
        type: header.type ?? 'file',
        mode: header.mode ?? 0,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        uname: header.uname ?? '',
        gname: header.gname ?? '',
        size,
        linkname: header.linkname ?? null,
        content: size <= KEEP_CONTENT && isFile ? new Uint8Array(Buffer.concat(chunks)) : null,
        ...(isFile ? { sha256: hash.digest('hex') } : {}),
      });
    }
  })();
  Readable.from([tarData]).pipe(extract);
  try {
    await reading;
  } catch (error) {
    throw new AppError(
      'invalid-input',
      `the tar archive inside is damaged (${(error as Error).message}); the initramfs would stop in an emergency shell`,
      {
        location,
        cause: error,
      },
    );
  }
  return members;
}
