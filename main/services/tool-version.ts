import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The version of Apkovl Studio, from its package.json: the nearest one above this file that
 * names the package (the same walk works from the sources, dist/ and the bundles).
 */
export function toolVersion(): string {
  if (cached !== undefined) return cached;
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'apkovl-studio') {
        cached = manifest.version ?? '0.0.0';
        return cached;
      }
    } catch {
      // not here; look one folder up
    }
    directory = path.dirname(directory);
  }
  cached = '0.0.0';
  return cached;
}
