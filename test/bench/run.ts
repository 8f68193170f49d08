/**
 * npm run bench: apkovl build against its baselines, side by side in one run.
 *
 * On synthetic Alpine Raspberry Pi media (about 100 MB, incompressible payloads, hundreds of
 * small files) it times, in interleaved rounds with a warm page cache:
 *   - gzip -dc > /dev/null: the decompression floor (nothing is written);
 *   - the manual way: truncate + sfdisk + mkfs.vfat + tar -x + mcopy -s;
 *   - apkovl build (the CLI, as a user runs it).
 * It prints medians, ratios and peak memory (RSS, from GNU time), and checks the goals:
 * build <= 1.3x the gzip floor, <= 0.5x the manual way, peak RSS < 150 MB and independent of
 * the media's size (a second run on media three times as large).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOverlay, createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { printGoals, printTable } from './report.js';
import { flashBenchmark } from './flash.js';
import { apkResolveBenchmark } from './apk-resolve.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../cli/apkovl.mjs');
const rounds = Number(process.env.BENCH_RUNS ?? 7);

interface Sample {
  seconds: number;
  peakKb: number;
}

function measure(command: string[], cleanup: () => void): Sample {
  cleanup();
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...command], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed:\n${result.stderr}`);
  const peakKb = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, peakKb };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

function requireTools(): void {
  const missing = ['/usr/bin/time', 'gzip', 'sfdisk', 'mkfs.vfat', 'mcopy', 'tar'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    console.error(`bench needs ${missing.join(', ')} (Debian: apt-get install time gzip fdisk dosfstools mtools tar)`);
    process.exit(2);
  }
  if (!existsSync(cli)) {
    console.error('build first: npm run build');
    process.exit(2);
  }
}

function main(): void {
  requireTools();
  const temp = makeTempDir('apkovl-bench-');
  try {
    console.log('Making synthetic media (about 100 MB and 300 MB)...');
    const media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'm1'), scale: 1, defaultApkovl: true });
    const large = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'm3'), scale: 3, defaultApkovl: true });
    const overlay = createOverlay(temp.dir, 'bench-host');
    const image = path.join(temp.dir, 'apkovl.img');
    const manualImage = path.join(temp.dir, 'manual.img');
    const work = path.join(temp.dir, 'manual-tree');
    const manualScript = [
      'set -e',
      `truncate -s 513M "${manualImage}"`,
      `echo '2048,,c,*' | sfdisk -q "${manualImage}"`,
      `mkfs.vfat -F 32 -n ALPINE --offset 2048 "${manualImage}" 524288 >/dev/null`,
      `mkdir -p "${work}"`,
      `tar -xzf "${media.tarball}" -C "${work}"`,
      `rm -f "${work}"/*.apkovl.tar.gz*`,
      `cp "${overlay}" "${work}/bench-host.apkovl.tar.gz"`,
      `cd "${work}" && mcopy -s -i "${manualImage}@@1M" * .alpine-release ::/`,
    ].join('\n');
    const build = (tarball: string) => [
      'node',
      cli,
      'build',
      '--boot-media',
      tarball,
      '--overlay',
      overlay,
      '--output',
      image,
      '--size',
      '512MiB',
    ];
    const contenders: { name: string; command: string[]; cleanup: () => void }[] = [
      {
        name: 'gzip -dc (decompression floor)',
        command: ['sh', '-c', `gzip -dc "${media.tarball}" > /dev/null`],
        cleanup: () => undefined,
      },
      {
        name: 'manual: sfdisk + mkfs.vfat + tar + mcopy',
        command: ['sh', '-c', manualScript],
        cleanup: () => {
          rmSync(manualImage, { force: true });
          rmSync(work, { recursive: true, force: true });
        },
      },
      { name: 'apkovl build', command: build(media.tarball), cleanup: () => rmSync(image, { force: true }) },
    ];
    const samples = new Map<string, Sample[]>(contenders.map((contender) => [contender.name, []]));
    console.log(`Timing ${rounds} interleaved rounds (warm page cache)...`);
    for (const contender of contenders) measure(contender.command, contender.cleanup); // warm-up
    for (let round = 0; round < rounds; round += 1) {
      for (const contender of contenders)
        samples.get(contender.name)?.push(measure(contender.command, contender.cleanup));
    }
    const largeSamples = Array.from({ length: 3 }, () =>
      measure(build(large.tarball), () => rmSync(image, { force: true })),
    );

    const summary = contenders.map((contender) => {
      const list = samples.get(contender.name) ?? [];
      return {
        name: contender.name,
        seconds: median(list.map((s) => s.seconds)),
        peakMb: Math.max(...list.map((s) => s.peakKb)) / 1024,
      };
    });
    const [floor, manual, ours] = summary as [(typeof summary)[0], (typeof summary)[0], (typeof summary)[0]];
    const largePeak = Math.max(...largeSamples.map((s) => s.peakKb)) / 1024;
    const mib = (file: string) => (statSync(file).size / 2 ** 20).toFixed(1);

    console.log(
      `\nMedia: ${mib(media.tarball)} MiB compressed, ${media.files.size} files (and ${mib(large.tarball)} MiB for the memory check)`,
    );
    console.log(`Median of ${rounds} runs each; ratios are of medians measured in this one run.\n`);
    const rows = [
      ['', 'median', 'x gzip floor', 'x manual', 'peak RSS'],
      ...summary.map((row) => [
        row.name,
        `${row.seconds.toFixed(3)} s`,
        (row.seconds / floor.seconds).toFixed(2),
        (row.seconds / manual.seconds).toFixed(2),
        `${row.peakMb.toFixed(0)} MB`,
      ]),
    ];
    printTable(rows);

    const goals = [
      {
        goal: 'build <= 1.3x the gzip floor',
        value: ours.seconds / floor.seconds,
        ok: ours.seconds / floor.seconds <= 1.3,
      },
      {
        goal: 'build <= 0.5x the manual way',
        value: ours.seconds / manual.seconds,
        ok: ours.seconds / manual.seconds <= 0.5,
      },
      { goal: 'peak RSS < 150 MB', value: ours.peakMb, ok: ours.peakMb < 150 },
      {
        goal: `peak RSS independent of media size (${mib(large.tarball)} MiB media: ${largePeak.toFixed(0)} MB)`,
        value: largePeak / ours.peakMb,
        ok: largePeak < ours.peakMb * 1.15 && largePeak < 150,
      },
    ];
    printGoals(goals);
    if (process.env.BENCH_STRICT === '1' && goals.some((goal) => !goal.ok)) process.exitCode = 1;
  } finally {
    temp.cleanup();
  }
}

main();
if (process.env.BENCH_APK !== '0' && !apkResolveBenchmark() && process.env.BENCH_STRICT === '1') process.exitCode = 1;
if (process.env.BENCH_FLASH !== '0') flashBenchmark();
