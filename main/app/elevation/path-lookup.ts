import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Finds a program by name: the absolute path of an executable file, or null. */
export type PathLookup = (name: string) => string | null;

/**
 * A PATH look-up as a shell does it, over the given environment (not this process's): the first
 * executable regular file named `name` in `env.PATH`. On Windows, the PATHEXT extensions too.
 */
export function pathLookupFor(env: Record<string, string | undefined>, platform: NodeJS.Platform): PathLookup {
  const separator = platform === 'win32' ? ';' : ':';
  const directories = (env.PATH ?? env.Path ?? '').split(separator).filter((entry) => entry !== '');
  const extensions = platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  return (name) => {
    if (path.isAbsolute(name)) return isExecutable(name) ? name : null;
    for (const directory of directories) {
      if (!path.isAbsolute(directory)) continue; // a relative PATH entry depends on the cwd: never
      for (const extension of extensions) {
        const candidate = path.join(directory, name + extension);
        if (isExecutable(candidate)) return candidate;
      }
    }
    return null;
  };
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
