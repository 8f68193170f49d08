import path from 'node:path';
import { displayText } from '../../../shared/rules/display.js';

export type PathCheck = { ok: true; path: string } | { ok: false; problem: string };

/**
 * A tar member name as a media path: `./` prefixes and empty or `.` segments removed. Refuses
 * absolute names and any `..` segment (the way out of the card's root). The root itself is ''.
 */
export function normalizeMemberName(name: string): PathCheck {
  if (name.startsWith('/')) return { ok: false, problem: 'it is an absolute path' };
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { ok: false, problem: 'it contains "..", which would leave the media folder' };
  if (name.includes('\0')) return { ok: false, problem: 'it contains a NUL character' };
  return { ok: true, path: parts.join('/') };
}

/**
 * Where a symbolic link at `linkPath` with the stored target `target` points, as a media path.
 * Refuses absolute targets (they name the running system, not the card) and targets that climb
 * out of the media root.
 */
export function resolveSymlinkTarget(linkPath: string, target: string): PathCheck {
  if (target.startsWith('/')) return { ok: false, problem: `it points to the absolute path "${displayText(target)}"` };
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    return { ok: false, problem: `it points to "${displayText(target)}", outside the media` };
  }
  if (resolved === '.' || resolved === '') return { ok: false, problem: 'it points to the media root' };
  return { ok: true, path: resolved };
}

/** nlplug-findfs's test for an apkovl: fnmatch("*.apkovl.tar.gz*") on top-level files. */
export function isApkovlName(name: string): boolean {
  return name.includes('.apkovl.tar.gz');
}
