import { realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a definition's `files[].source` or `files[].tree` really is. Sources must stay inside the
 * definition's folder after every symlink is followed: an absolute path, `..` or a link leading
 * out would copy a file of the machine that builds the card (a private key, /etc/shadow) onto it.
 */
export type SourceLocation =
  /** Inside the folder; `path` is the real path, the one to read. */
  | { kind: 'inside'; path: string }
  /** Nothing there; `path` is where it was looked for. */
  | { kind: 'missing'; path: string }
  /** Outside the folder; `path` is where it leads (the real path when it exists). */
  | { kind: 'outside'; path: string };

/** Whether `target` is `folder` itself or below it (both absolute, both real or both not). */
export function isInside(folder: string, target: string): boolean {
  const relative = path.relative(folder, target);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** The definition's folder with its symlinks resolved, the root every source must stay in. */
export async function definitionFolder(definition: string): Promise<{ given: string; real: string }> {
  const given = path.dirname(path.resolve(definition));
  return { given, real: await realpath(given) };
}

/** Resolve `reference` (as written in the definition) against the definition's folder. */
export async function locateSource(
  folder: { given: string; real: string },
  reference: string,
): Promise<SourceLocation> {
  const written = path.resolve(folder.given, reference);
  if (!isInside(folder.given, written)) {
    const real = await realpath(written).catch(() => null);
    return { kind: 'outside', path: real ?? written };
  }
  const real = await realpath(written).catch(() => null);
  if (real === null) return { kind: 'missing', path: written };
  return isInside(folder.real, real) ? { kind: 'inside', path: real } : { kind: 'outside', path: real };
}
