import { createHash } from 'node:crypto';
import type { OverlayEntry } from '../../main/services/overlay/overlay-entry.js';

function permissions(entry: OverlayEntry): string {
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
  const kind = entry.type === 'directory' ? 'd' : entry.type === 'symlink' ? 'l' : '-';
  return (
    kind +
    'rwxrwxrwx'
      .split('')
      .map((letter, index) => (mode & (1 << (8 - index)) ? letter : '-'))
      .join('')
  );
}

/**
 * A readable listing of overlay entries with text contents, for golden files. Files in
 * `summarized` are listed by size and hash only (a long program that every overlay carries,
 * whose text has a golden file of its own).
 */
export function renderEntries(entries: OverlayEntry[], summarized: ReadonlySet<string> = new Set()): string {
  const lines: string[] = [];
  for (const entry of entries) {
    const head = `${permissions(entry)} ${entry.uid}:${entry.gid} ${entry.path}${entry.type === 'directory' ? '/' : ''}`;
    if (entry.type === 'symlink') {
      lines.push(`${head} -> ${entry.target}`);
      continue;
    }
    lines.push(head);
    if (entry.type !== 'file') continue;
    const text = entry.content.toString('utf8');
    if (
      summarized.has(entry.path) ||
      entry.content.includes(0) ||
      Buffer.from(text, 'utf8').compare(entry.content) !== 0
    ) {
      lines.push(
        `    (${entry.content.length} bytes, sha256 ${createHash('sha256').update(entry.content).digest('hex')})`,
      );
    } else {
      for (const line of text.replace(/\n$/, '').split('\n')) lines.push(`    | ${line}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
