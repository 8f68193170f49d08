import { readFile } from 'node:fs/promises';
import { unescapeOctal } from './mount-table.js';

/** A swap area in use, from /proc/swaps. */
export interface SwapArea {
  /** A device (`/dev/sdb2`, `/dev/dm-1`, `/dev/zram0`) or a file (`/swapfile`). */
  path: string;
  type: 'partition' | 'file';
}

export function parseSwaps(text: string): SwapArea[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields): fields is [string, string, ...string[]] => fields.length >= 2 && fields[0] !== '')
    .map(([path, type]) => ({ path: unescapeOctal(path), type: type === 'file' ? 'file' : 'partition' }));
}

/** Swap in use now; none where /proc/swaps does not exist (not Linux). */
export async function readSwaps(): Promise<SwapArea[]> {
  try {
    return parseSwaps(await readFile('/proc/swaps', 'utf8'));
  } catch {
    return [];
  }
}
