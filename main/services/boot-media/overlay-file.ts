import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { AppError } from '../../../shared/errors.js';
import { APKOVL_FILE_NAME, apkovlFileName, hostnameProblem } from '../../../shared/rules/hostname.js';

/** Largest apkovl accepted: the initramfs unpacks it into RAM, so real ones are kilobytes. */
const MAX_OVERLAY_BYTES = 64 << 20;

export interface OverlayFile {
  /** Name on the card: `<hostname>.apkovl.tar.gz`. */
  fileName: string;
  hostname: string | null;
  data: Buffer;
  sha256: string;
  members: number;
  warnings: string[];
}

/**
 * Read a user's apkovl and check what would otherwise stop the boot: it must be gzip wrapping
 * a valid tar (a broken one drops the initramfs into an emergency shell). The card name comes
 * from the overlay's own `etc/hostname`, which is what `lbu commit` will look for later.
 */
export async function readOverlayFile(filePath: string): Promise<OverlayFile> {
  const location = filePath;
  const stat = await fs.stat(filePath).catch((error: unknown) => {
    throw new AppError('not-found', `cannot read the overlay: ${(error as Error).message}`, {
      location,
      hint: 'check the path given with --overlay',
      cause: error,
    });
  });
  if (!stat.isFile()) throw new AppError('invalid-input', 'the overlay is not a regular file', { location });
  if (stat.size > MAX_OVERLAY_BYTES) {
    throw new AppError(
      'invalid-input',
      `the overlay is ${stat.size} bytes; an apkovl is unpacked into RAM at every boot and should be small`,
      {
        location,
        hint: 'keep large files out of the overlay',
      },
    );
  }
  const data = await fs.readFile(filePath);
  let tarData: Buffer;
  try {
    tarData = zlib.gunzipSync(data, { maxOutputLength: 16 * MAX_OVERLAY_BYTES });
  } catch (error) {
    throw new AppError('invalid-input', `the overlay is not a valid gzip file (${(error as Error).message})`, {
      location,
      hint: 'an apkovl is a tar archive compressed with gzip: tar -czf host.apkovl.tar.gz etc',
      cause: error,
    });
  }
  let hostname: string | null = null;
  let members = 0;
  const extract = tar.extract();
  const reading = (async () => {
    for await (const member of extract) {
      members += 1;
      const name = member.header.name.replace(/^(\.\/)+/, '');
      if (name === 'etc/hostname' && member.header.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const chunk of member as AsyncIterable<Buffer>) chunks.push(chunk);
        hostname = Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
      } else {
        member.resume();
      }
    }
  })();
  Readable.from([tarData]).pipe(extract);
  try {
    await reading;
  } catch (error) {
    throw new AppError(
      'invalid-input',
      `the overlay is gzip but not a valid tar archive (${(error as Error).message})`,
      {
        location,
        hint: 'an apkovl is a tar archive compressed with gzip: tar -czf host.apkovl.tar.gz etc',
        cause: error,
      },
    );
  }
  if (members === 0) throw new AppError('invalid-input', 'the overlay is an empty archive', { location });

  const warnings: string[] = [];
  let fileName: string;
  const found = hostname as string | null;
  if (found !== null) {
    const problem = hostnameProblem(found, { allowDomain: true });
    if (problem !== null) {
      throw new AppError('invalid-input', `etc/hostname in the overlay holds "${found}": ${problem}`, { location });
    }
    fileName = apkovlFileName(found);
  } else {
    const base = path.basename(filePath);
    if (!APKOVL_FILE_NAME.test(base)) {
      throw new AppError(
        'invalid-input',
        'the overlay has no etc/hostname and its file name does not end in .apkovl.tar.gz',
        {
          location,
          hint: 'add etc/hostname to the overlay, or name the file <hostname>.apkovl.tar.gz',
        },
      );
    }
    fileName = base;
    warnings.push(
      `the overlay has no etc/hostname; it is stored as ${base}, and lbu commit will refuse to replace it unless the host name matches`,
    );
  }
  return {
    fileName,
    hostname: found,
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    members,
    warnings,
  };
}
