import { open, rename, rm } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';

/**
 * Write `file` through a temporary file beside it and a rename, so that it is never seen half
 * written. A `private` file (secrets) gets exactly mode 0600, whatever the umask and whatever was
 * there before: writeFile's `mode` applies only when it creates the file, and the umask reduces
 * it. The mode is set before the content is written, so the content is never readable by others.
 * Any other file gets `mode` (default 0644) less the umask, as the user's files do.
 */
export async function writeFileAtomically(
  file: string,
  content: string | Buffer,
  options: { private?: boolean; mode?: number } = {},
): Promise<void> {
  const temporary = `${file}.${process.pid}.partial`;
  const mode = options.private === true ? 0o600 : (options.mode ?? 0o644);
  try {
    const handle = await open(temporary, 'w', mode);
    try {
      if (options.private === true) await handle.chmod(0o600);
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new AppError('io', `cannot write ${displayText(file)}: ${(error as Error).message}`, {
      location: file,
      cause: error,
    });
  }
}
