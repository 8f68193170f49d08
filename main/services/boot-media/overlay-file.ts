import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import { lintApkovl } from '../../../shared/rules/apkovl-lint.js';
import { displayText } from '../../../shared/rules/display.js';
import { APKOVL_FILE_NAME, apkovlFileName, hostnameProblem } from '../../../shared/rules/hostname.js';
import { readApkovl } from '../overlay/apkovl-reader.js';

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
  const entries = await readApkovl(data, location);
  const members = entries.length;
  const hostnameMember = entries.find(
    (member) => member.name.replace(/^(\.\/)+/, '') === 'etc/hostname' && member.type === 'file',
  );
  const hostname = hostnameMember?.content
    ? (Buffer.from(hostnameMember.content).toString('utf8').split('\n')[0]?.trim() ?? '')
    : null;
  if (members === 0) throw new AppError('invalid-input', 'the overlay is an empty archive', { location });

  const warnings: string[] = [];
  let fileName: string;

  if (hostname !== null) {
    const problem = hostnameProblem(hostname, { allowDomain: true });
    if (problem !== null) {
      throw new AppError(
        'invalid-input',
        `etc/hostname in the overlay holds "${displayText(hostname)}": ${displayText(problem)}`,
        { location, hint: 'write one valid host name into etc/hostname (letters, digits, hyphens)' },
      );
    }
    fileName = apkovlFileName(hostname);
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
  const findings = lintApkovl(fileName, entries);
  // Members that would be unpacked outside the overlay's root, device nodes, links to files it
  // does not hold, members BusyBox cannot unpack: the overlay is refused.
  const unsafe = findings.filter((found) => found.unsafe);
  const first = unsafe[0];
  if (first !== undefined) {
    const more =
      unsafe.length > 1 ? ` (and ${unsafe.length - 1} more such problem${unsafe.length > 2 ? 's' : ''})` : '';
    throw new AppError(
      'invalid-input',
      `the overlay's member "${displayText(first.member ?? '')}" is refused: ${displayText(first.message)}${more}`,
      {
        location: `${location}, member "${displayText(first.member ?? '')}"`,
        hint: `${displayText(first.fix)}; apkovl inspect ${location} lists every problem`,
      },
    );
  }
  // Otherwise a hand-made overlay is used as it is, but what would go wrong at boot is said.
  for (const found of findings) {
    if (found.severity === 'error') {
      warnings.push(
        `apkovl check ${found.rule}: ${displayText(found.member ?? '')} ${displayText(found.message)} (${displayText(found.fix)})`,
      );
    }
  }
  return {
    fileName,
    hostname,
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    members,
    warnings,
  };
}
