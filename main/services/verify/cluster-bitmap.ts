import type { ClusterRun } from './fat-findings.js';

/** One bit per cluster number: 8 MiB for the 64 Mi clusters of the largest volume. */
export class ClusterBitmap {
  private readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(cluster: number): boolean {
    return ((this.words[cluster >>> 5] ?? 0) & (1 << (cluster & 31))) !== 0;
  }

  add(cluster: number): void {
    const index = cluster >>> 5;
    this.words[index] = (this.words[index] ?? 0) | (1 << (cluster & 31));
  }

  /** Runs of clusters set here and not in `other`, from `from` on: the first `limit` runs, and how many there are. */
  difference(
    other: ClusterBitmap,
    from: number,
    limit: number,
  ): { runs: ClusterRun[]; runCount: number; clusters: number } {
    const runs: ClusterRun[] = [];
    let runCount = 0;
    let clusters = 0;
    let previous = -2;
    let open: ClusterRun | null = null;
    for (let index = from >>> 5; index < this.words.length; index += 1) {
      let word = ((this.words[index] ?? 0) & ~(other.words[index] ?? 0)) >>> 0;
      if (index === from >>> 5) word = (word & (0xffffffff << (from & 31))) >>> 0;
      for (let bit = 0; word !== 0; bit += 1, word >>>= 1) {
        if ((word & 1) === 0) continue;
        const cluster = index * 32 + bit;
        if (cluster >= this.size) break;
        clusters += 1;
        if (cluster === previous + 1) {
          if (open !== null) open.count += 1;
        } else {
          runCount += 1;
          open = runs.length < limit ? { first: cluster, count: 1 } : null;
          if (open !== null) runs.push(open);
        }
        previous = cluster;
      }
    }
    return { runs, runCount, clusters };
  }
}
