/** "Did you mean" for names a person types: the known name closest to what was written. */

/** Levenshtein distance: how many characters to insert, delete or change to turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/**
 * How far a typo may go and still be taken for the name: 2 characters, or a third of the word,
 * and never the whole word ("xx" is not a typo of "af").
 */
export function closeEnough(written: string, score: number): boolean {
  return score <= Math.max(2, Math.floor(written.length / 3)) && score < written.length;
}

/**
 * The candidate closest to `written`, or null when none is close enough. `score` may measure
 * something other than plain distance (e.g. ignoring case); the first of equal scores wins.
 */
export function closestName(
  written: string,
  candidates: Iterable<string>,
  score: (candidate: string) => number = (candidate) => editDistance(written, candidate),
): string | null {
  let best: { name: string; score: number } | null = null;
  for (const name of candidates) {
    const found = score(name);
    if (best === null || found < best.score) best = { name, score: found };
  }
  return best !== null && closeEnough(written, best.score) ? best.name : null;
}
