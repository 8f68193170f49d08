import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import unzipper from 'unzipper';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import type { TreeItem } from '../overlay/source-files.js';

/** Sources are unpacked into RAM at every boot: keep them reasonable. */
export const MAX_SOURCE_BYTES = 64 << 20;

function cleanRelative(name: string): string | null {
  const normalised = path.posix.normalize(name.replace(/\\/g, '/'));
  if (normalised.startsWith('/') || normalised === '..' || normalised.startsWith('../') || /^[A-Za-z]:/.test(name))
    return null;
  return normalised.replace(/^\.\/?/, '').replace(/\/$/, '');
}

/**
 * A folder merged into the machine's /. Symlinks inside it are stored as symlinks, never
 * followed, so they cannot bring in files from elsewhere. No secrets file (`secretFiles`, real
 * paths) may be in it: its values would land on the card in clear text.
 */
export async function readFolderTree(
  root: string,
  where: string,
  secretFiles: ReadonlySet<string>,
): Promise<TreeItem[]> {
  const items: TreeItem[] = [];
  let total = 0;
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const full = path.join(folder, name);
      const relative = prefix === '' ? name : `${prefix}/${name}`;
      const info = await lstat(full);
      if (info.isSymbolicLink()) items.push({ type: 'symlink', path: relative, target: await readlink(full) });
      else if (info.isDirectory()) {
        items.push({ type: 'directory', path: relative, mode: 0o755 });
        await walk(full, relative);
      } else if (info.isFile()) {
        if (secretFiles.has(full))
          throw new AppError(
            'invalid-input',
            `the tree holds the secrets file (${displayText(relative)}): its values would reach the card in clear text`,
            { location: `${where}: ${displayText(root)}`, hint: 'keep the secrets file outside the tree folder' },
          );
        total += info.size;
        if (total > MAX_SOURCE_BYTES)
          throw new AppError(
            'invalid-input',
            `the tree holds more than ${MAX_SOURCE_BYTES >> 20} MiB; an overlay is unpacked into RAM at every boot`,
            { location: `${where}: ${displayText(root)}` },
          );
        items.push({
          type: 'file',
          path: relative,
          mode: info.mode & 0o111 ? 0o755 : 0o644,
          content: await readFile(full),
        });
      } else {
        throw new AppError('invalid-input', `${displayText(relative)} is a device, socket or pipe`, {
          location: `${where}: ${displayText(root)}`,
          hint: 'an overlay holds files, folders and links only',
        });
      }
    }
  };
  await walk(root, '');
  return items;
}

/** A .zip merged into the machine's /: entries that would land outside (zip-slip) are refused. */
export async function readZipTree(file: string, where: string): Promise<TreeItem[]> {
  const location = `${where}: ${displayText(file)}`;
  let directory: Awaited<ReturnType<typeof unzipper.Open.file>>;
  try {
    directory = await unzipper.Open.file(file);
  } catch (error) {
    throw new AppError('invalid-input', `not a readable zip archive (${(error as Error).message})`, {
      location,
      cause: error,
    });
  }
  const items: TreeItem[] = [];
  let total = 0;
  for (const entry of directory.files) {
    const relative = cleanRelative(entry.path);
    if (relative === null || relative.split('/').includes('..')) {
      throw new AppError(
        'invalid-input',
        `the zip entry "${displayText(entry.path)}" would be written outside the machine's folders`,
        {
          location,
          hint: 'zip archives with absolute paths or .. are refused (zip-slip); repack it with relative paths',
        },
      );
    }
    if (relative === '') continue;
    const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
    if (entry.type === 'Directory') {
      items.push({ type: 'directory', path: relative, mode: 0o755 });
      continue;
    }
    total += entry.uncompressedSize;
    if (total > MAX_SOURCE_BYTES)
      throw new AppError('invalid-input', `the zip holds more than ${MAX_SOURCE_BYTES >> 20} MiB`, { location });
    const content = await entry.buffer();
    if ((unixMode & 0o170000) === 0o120000)
      items.push({ type: 'symlink', path: relative, target: content.toString('utf8') });
    else items.push({ type: 'file', path: relative, mode: unixMode & 0o111 ? 0o755 : 0o644, content });
  }
  return items;
}
