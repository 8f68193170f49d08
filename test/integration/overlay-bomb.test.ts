import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/cli.js';
import { overlayBomb } from '../helpers/raw-tar.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * A gzip bomb given to `apkovl inspect` and to `build --overlay`: both read it with the same
 * streaming reader, refuse it at the limit, and use no more memory than for a small overlay.
 * Peak memory is the child's own maximum resident set size, which it prints when it exits.
 */

const MiB = 1 << 20;
const REPORT_PEAK = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(2, `peak-rss-kib=${process.resourceUsage().maxRSS}\\n`));",
)}`;

let temp: ReturnType<typeof makeTempDir>;
let bomb: string;
let small: string;
let media: SyntheticMedia;

beforeAll(() => {
  temp = makeTempDir();
  bomb = path.join(temp.dir, 'bomb.apkovl.tar.gz');
  writeFileSync(bomb, overlayBomb(304 * MiB));
  small = createOverlay(temp.dir, 'small');
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.01 });
});
afterAll(() => temp.cleanup());

function run(args: string[]): { status: number | null; stderr: string; peakMiB: number } {
  const result = spawnSync(process.execPath, ['--import', REPORT_PEAK, cliPath, ...args], { encoding: 'utf8' });
  const peak = /peak-rss-kib=(\d+)/.exec(result.stderr);
  if (peak === null) throw new Error(`no peak reported: ${result.stderr}`);
  return { status: result.status, stderr: result.stderr, peakMiB: Number(peak[1]) / 1024 };
}

describe('an overlay bomb', () => {
  it('is refused by apkovl inspect at the unpacked limit, with memory as for a small overlay', () => {
    // A small hand-made overlay: listed, with findings (exit 1), but read.
    const baseline = run(['inspect', small]);
    expect(baseline.stderr).not.toMatch(/apkovl: error/);
    const refused = run(['inspect', bomb]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/the overlay unpacks to more than 256 MiB/);
    // Inflating it whole took some 675 MB; streamed, the growth is a few MB. 150 MB is a wide margin.
    expect(refused.peakMiB - baseline.peakMiB).toBeLessThan(150);
  });

  it('is refused by build --overlay the same way, before anything is written', () => {
    const build = (overlay: string, output: string) =>
      run(['build', '--boot-media', media.tarball, '--overlay', overlay, '--output', path.join(temp.dir, output)]);
    const baseline = build(small, 'small.img');
    expect(baseline.status, baseline.stderr).toBe(0);
    const refused = build(bomb, 'bomb.img');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /bomb\.apkovl\.tar\.gz, at byte \d+ of the unpacked tar: the overlay unpacks to more than 256 MiB/,
    );
    expect(refused.peakMiB - baseline.peakMiB).toBeLessThan(150);
  });
});
