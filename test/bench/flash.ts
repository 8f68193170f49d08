/**
 * The flash benchmark (part of npm run bench): writing a card to a device, side by side in one
 * run, on a loop device as slow as an SD card (cgroup v1 blkio throttling: writes 20 MB/s,
 * reads 40 MB/s; unthrottled where the kernel offers no such thing, and it says so):
 *   - apkovl build --device + its read-back: only the card's bytes, verified uncached;
 *   - etcher-sdk writing the same card as a full image file, with its verification;
 *   - dd of the full image (direct I/O) + cmp of what reads back.
 * For each: seconds, bytes written and read (the device's own counters), and the device's limit
 * for our card: its bytes at the write rate plus the same bytes at the read rate.
 * Goals for a 1 GiB card holding about 120 MB: within 1.15x of that limit; bytes written at
 * most the payload + FAT metadata + 2 %; far ahead of etcher-sdk's full-image flash + verify.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOverlay, createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { printGoals, printTable } from './report.js';
import { throttle, throttleUnavailable, type Throttle } from '../helpers/throttle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../cli/apkovl.mjs');
const etcherScript = path.join(here, 'etcher-flash.js');
const WRITE_RATE = 20e6;
const READ_RATE = 40e6;
const CARD_BYTES = 1 << 30;

interface Counters {
  read: number;
  written: number;
}

/** The device's own counters: sectors read (field 3) and written (field 7) of /sys/block/<dev>/stat. */
function counters(device: string): Counters {
  const fields = readFileSync(`/sys/block/${path.basename(device)}/stat`, 'utf8')
    .trim()
    .split(/\s+/);
  return { read: Number(fields[2]) * 512, written: Number(fields[6]) * 512 };
}

interface Result {
  name: string;
  seconds: number;
  written: number;
  read: number;
  stdout: string;
}

function run(name: string, device: string, slow: Throttle | null, command: string[]): Result {
  execFileSync('blockdev', ['--flushbufs', device]);
  const before = counters(device);
  const wrapped = slow ? slow.wrap(command) : command;
  const started = process.hrtime.bigint();
  const result = spawnSync(wrapped[0] as string, wrapped.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${name} failed (${result.status}):\n${result.stderr}`);
  const after = counters(device);
  return {
    name,
    seconds,
    written: after.written - before.written,
    read: after.read - before.read,
    stdout: result.stdout,
  };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

export function flashBenchmark(): void {
  if (process.getuid?.() !== 0 || spawnSync('losetup', ['--version']).status !== 0) {
    console.log('\nFlash benchmark: skipped (it needs root and losetup for a loop device).');
    return;
  }
  if (!existsSync(etcherScript)) throw new Error(`${etcherScript} is missing: npm run build`);
  const unthrottled = throttleUnavailable();
  const temp = makeTempDir('apkovl-flash-bench-');
  let device: string | null = null;
  let slow: Throttle | null = null;
  try {
    console.log('\nFlash benchmark: making a 1 GiB card holding about 120 MB...');
    const media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'media'), scale: 1 });
    const overlay = createOverlay(temp.dir, 'flash-bench');
    const backing = path.join(temp.dir, 'card.bin');
    writeFileSync(backing, '');
    truncateSync(backing, CARD_BYTES);
    device = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    // The same card as an image file, for the full-image writers: the whole 1 GiB device.
    const image = path.join(temp.dir, 'card.img');
    execFileSync('node', [
      cli,
      'build',
      '--boot-media',
      media.tarball,
      '--overlay',
      overlay,
      '--output',
      image,
      '--size',
      `${CARD_BYTES / 2 ** 20 - 1}MiB`,
    ]);
    slow =
      unthrottled === null
        ? throttle(device, { writeBytesPerSecond: WRITE_RATE, readBytesPerSecond: READ_RATE })
        : null;
    console.log(
      slow
        ? `Device: ${device}, throttled like an SD card (writes ${mb(WRITE_RATE)}/s, reads ${mb(READ_RATE)}/s)`
        : `Device: ${device}, NOT throttled (${unthrottled}): the times below are this machine's, not a card's`,
    );
    const ours = run('apkovl build --device + read-back', device, slow, [
      'node',
      cli,
      'build',
      '--boot-media',
      media.tarball,
      '--overlay',
      overlay,
      '--device',
      device,
      '--yes',
      '--json',
    ]);
    const etcher = run('etcher-sdk, full image + verify', device, slow, ['node', etcherScript, image, device]);
    const dd = run('dd (direct) + cmp of the read-back', device, slow, [
      'sh',
      '-c',
      `dd if="${image}" of="${device}" bs=4M oflag=direct conv=fsync status=none && dd if="${device}" bs=4M iflag=direct status=none | cmp - "${image}"`,
    ]);

    // What our card holds: its files (payload) and the FAT metadata, from its own summary.
    const built = JSON.parse(ours.stdout.trim().split('\n').at(-1) as string) as {
      envelope: { value: { fileBytes: number; filesystem: { usedBytes: number; metadataBytes: number } } };
    };
    const card = built.envelope.value;
    const payload = card.fileBytes;
    const cardBytes = card.filesystem.usedBytes + card.filesystem.metadataBytes;
    const limit = cardBytes / WRITE_RATE + cardBytes / READ_RATE;

    console.log(
      `\nCard: ${mb(payload)} of files in ${mb(card.filesystem.usedBytes)} of clusters, ${mb(card.filesystem.metadataBytes)} of FAT metadata; device limit for it: ${limit.toFixed(2)} s${slow ? '' : ' (at card speed)'}\n`,
    );
    const rows = [
      ['', 'seconds', 'x limit', 'written', 'read'],
      ...[ours, etcher, dd].map((row) => [
        row.name,
        `${row.seconds.toFixed(2)} s`,
        (row.seconds / limit).toFixed(2),
        mb(row.written),
        mb(row.read),
      ]),
    ];
    printTable(rows);
    const goals = [
      {
        goal: 'build + read-back within 1.15x of the device limit',
        value: ours.seconds / limit,
        ok: slow !== null && ours.seconds / limit <= 1.15,
      },
      {
        goal: 'bytes written at most payload + FAT metadata + 2 %',
        value: ours.written / ((payload + card.filesystem.metadataBytes) * 1.02),
        ok: ours.written <= (payload + card.filesystem.metadataBytes) * 1.02,
      },
      {
        goal: "far ahead of etcher-sdk's full-image flash + verify (x etcher-sdk's time)",
        value: ours.seconds / etcher.seconds,
        ok: ours.seconds / etcher.seconds <= 0.25,
      },
    ];
    printGoals(goals);
    if (slow === null) console.log('  (the time goal needs a throttled device; it cannot be judged here)');
  } finally {
    slow?.remove();
    if (device !== null) {
      spawnSync('partx', ['--delete', device]);
      spawnSync('losetup', ['--detach', device]);
    }
    temp.cleanup();
  }
}
