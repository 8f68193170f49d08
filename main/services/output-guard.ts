import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../shared/errors.js';
import { displayText } from '../../shared/rules/display.js';
import type { LoadedDefinition } from './machine/load-definition.js';

/** A file the user named, and how they named it: an option (`--boot-media`) or a field. */
export interface NamedFile {
  /** `--boot-media`, `--secrets`, `the machine definition`, `files[2].source of kiosk.yml`. */
  name: string;
  path: string;
}

async function identity(file: string): Promise<{ dev: bigint; ino: bigint; real: string } | null> {
  try {
    const info = await stat(file, { bigint: true });
    return { dev: info.dev, ino: info.ino, real: await realpath(file) };
  } catch {
    return null;
  }
}

/**
 * Refuse to write `output` over one of `inputs`. Files are compared by device and inode (where
 * the file system has inode numbers; else by their real path), so `./x` and `x`, a symbolic link
 * and a hard link to an input are all caught. Writing there would replace the input with the
 * result (or, for a hard link, leave the two names with different content) and report success.
 */
export async function refuseOutputOverInput(output: NamedFile, inputs: readonly NamedFile[]): Promise<void> {
  const written = await identity(output.path);
  if (written === null) return;
  for (const input of inputs) {
    const read = await identity(input.path);
    if (read === null) continue;
    const same =
      written.ino !== 0n && read.ino !== 0n
        ? written.dev === read.dev && written.ino === read.ino
        : written.real === read.real;
    if (!same) continue;
    const both =
      path.resolve(output.path) === path.resolve(input.path)
        ? displayText(output.path)
        : `${displayText(output.path)} and ${displayText(input.path)} are the same file`;
    throw new AppError(
      'usage',
      `${output.name} is the same file as ${input.name} (${both}): writing it would replace the input`,
      {
        location: output.name,
        hint: `give ${output.name} a new file name; the input stays as it is`,
      },
    );
  }
}

/** The files a loaded definition's `files[].source` and `files[].tree` (a folder or a .zip) name. */
export function definitionSources(loaded: LoadedDefinition): NamedFile[] {
  const base = path.dirname(path.resolve(loaded.file));
  const definitionName = displayText(path.basename(loaded.file));
  const inputs: NamedFile[] = [];
  for (const [index, item] of loaded.machine.files.entries()) {
    if ('path' in item) {
      if (item.source !== undefined)
        inputs.push({ name: `files[${index}].source of ${definitionName}`, path: path.resolve(base, item.source) });
    } else {
      inputs.push({ name: `files[${index}].tree of ${definitionName}`, path: path.resolve(base, item.tree) });
    }
  }
  return inputs;
}
