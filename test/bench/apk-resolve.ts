/**
 * The package resolution benchmark (part of npm run bench; alone: node dist/test/bench/apk-resolve.js).
 *
 * On a synthetic APKINDEX the size of Alpine's community repository (about 25,000 packages,
 * 8 MB of text, with so:/cmd:/pc: provides, install_if subpackages and virtual names) it times,
 * in process: parsing the index, and resolving a kiosk-like world of 20 names that pulls in a
 * couple of hundred packages. Medians of BENCH_RUNS rounds after one cold round, which is
 * reported too. Goal: parse + resolve well under a second, here at most 0.5 s.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseApkIndex } from '../../main/services/apk/index-parse.js';
import { resolvePackages } from '../../main/services/apk/resolve.js';
import { syntheticApkIndex } from '../helpers/synthetic-apk-index.js';
import { printGoals, printTable } from './report.js';

const GOAL_SECONDS = 1;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export function apkResolveBenchmark(rounds = Number(process.env.BENCH_RUNS ?? 7)): boolean {
  console.log('\nPackage resolution: making a synthetic community-sized APKINDEX...');
  const synthetic = syntheticApkIndex();
  const mb = (synthetic.text.length / 1e6).toFixed(1);
  const timings: { parse: number; resolve: number; packages: number }[] = [];
  for (let round = 0; round <= rounds; round += 1) {
    let started = process.hrtime.bigint();
    const index = parseApkIndex(synthetic.text, { source: 'community' });
    const parse = Number(process.hrtime.bigint() - started) / 1e9;
    started = process.hrtime.bigint();
    const resolution = resolvePackages({ indexes: [index], world: synthetic.kioskWorld });
    const resolve = Number(process.hrtime.bigint() - started) / 1e9;
    timings.push({ parse, resolve, packages: resolution.packages.length });
  }
  const [cold, ...warm] = timings as [(typeof timings)[0], ...typeof timings];
  const parse = median(warm.map((timing) => timing.parse));
  const resolve = median(warm.map((timing) => timing.resolve));
  const total = median(warm.map((timing) => timing.parse + timing.resolve));
  console.log(
    `Index: ${synthetic.packageCount} packages, ${mb} MB; world: ${synthetic.kioskWorld.length} names -> ${cold.packages} packages.`,
  );
  console.log(`Median of ${warm.length} rounds after a cold one; ratios are of the 1 s goal.\n`);
  const row = (name: string, seconds: number): string[] => [
    name,
    `${seconds.toFixed(3)} s`,
    (seconds / GOAL_SECONDS).toFixed(2),
  ];
  printTable([
    ['', 'median', 'x 1 s'],
    row('parse APKINDEX', parse),
    row(`resolve ${synthetic.kioskWorld.length} names`, resolve),
    row('parse + resolve', total),
    row('parse + resolve, first (cold) round', cold.parse + cold.resolve),
  ]);
  const goals = [
    {
      goal: 'parse + resolve a community-sized index <= 0.5 s (well under 1 s)',
      value: total / GOAL_SECONDS,
      ok: total <= 0.5,
    },
    {
      goal: 'even the cold first round < 1 s',
      value: (cold.parse + cold.resolve) / GOAL_SECONDS,
      ok: cold.parse + cold.resolve < GOAL_SECONDS,
    },
  ];
  printGoals(goals);
  return goals.every((goal) => goal.ok);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ok = apkResolveBenchmark();
  if (process.env.BENCH_STRICT === '1' && !ok) process.exitCode = 1;
}
