import { execFileSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { buildImage } from '../../main/services/image/build-image.js';
import { verifyReportSchema, type VerifyCheckId, type VerifyReport } from '../../shared/model/verify-report.js';
import { responseEnvelope, runCli, runCliAsync } from './cli.js';
import { openFatImage } from './fat-corrupt.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from './synthetic-media.js';

/** Cards for the tests of `apkovl verify`: built with the real builder, then changed on purpose. */

export const DEFINITIONS = path.resolve('test/fixtures/definitions');

/** What a kiosk that booted writes to its card (main/services/overlay/first-boot-report.ts). */
export const BOOTED_KIOSK_REPORT = {
  format: 'apkovl-first-boot-report',
  version: 1,
  generator: { name: 'apkovl-studio', version: '0.1.0' },
  hostname: 'kiosk-hall',
  reported_at: '2026-11-28T10:02:41Z',
  booted_at: '2026-11-28T10:02:00Z',
  uptime_seconds: 41,
  board_model: 'Raspberry Pi 4 Model B Rev 1.4',
  interfaces: [{ name: 'eth0', state: 'up', ipv4: ['192.168.1.23/24'], ipv6: [] }],
  packages: [
    { name: 'alpine-base', installed: true },
    { name: 'chromium', installed: false },
    { name: 'cage', installed: false },
  ],
  services: [{ name: 'networking', runlevel: 'boot', state: 'started' }],
  clock: { source: 'chrony', synchronized: true },
};
export const KIOSK = path.join(DEFINITIONS, 'kiosk.yml');
export const SECRETS = path.join(DEFINITIONS, 'secrets.yml');
/** Small media: a card builds and verifies in about a second. */
export const SMALL_MEDIA = { scale: 0.05, overlayCount: 20, apkCount: 10 } as const;

/** Synthetic Raspberry Pi media and a 64 MiB card image built from them with the kiosk definition. */
export async function kioskCard(dir: string): Promise<{ media: SyntheticMedia; image: string }> {
  const media = createSyntheticRpiMedia({ dir, ...SMALL_MEDIA });
  const image = path.join(dir, 'kiosk.img');
  await buildImage({
    bootMedia: media.tarball,
    definition: { file: KIOSK, secretsFile: SECRETS },
    output: image,
    partitionBytes: 64 << 20,
  });
  return { media, image };
}

/** A copy of a card image to change (sparse, as the original). */
export function copyCard(image: string, name: string): string {
  const copy = path.join(path.dirname(image), name);
  execFileSync('cp', ['--sparse=always', image, copy]);
  return copy;
}

/** Flip every bit of one byte of a file on the card, in place; its position on the medium. */
export async function flipByte(image: string, file: string, offset: number): Promise<number> {
  const fat = await openFatImage(image);
  try {
    const runs = await fat.runs(file);
    const clusterSize = fat.volume.clusterSize;
    let skip = offset;
    for (const run of runs) {
      if (skip < run.count * clusterSize) {
        const position = fat.volume.clusterPosition(run.cluster) + skip;
        const byte = await fat.read(position, 1);
        await fat.write(position, Buffer.from([(byte[0] ?? 0) ^ 0xff]));
        return position;
      }
      skip -= run.count * clusterSize;
    }
    throw new Error(`${file} has no byte ${offset}`);
  } finally {
    await fat.close();
  }
}

/** Copy `source` onto the card's FAT partition (at 1 MiB) as `name`, replacing it, with `mtime` (Unix seconds). */
export function mcopyTo(image: string, source: string, name: string, mtime?: number): void {
  if (mtime !== undefined) utimesSync(source, mtime, mtime);
  execFileSync('mcopy', ['-i', `${image}@@1M`, '-o', ...(mtime !== undefined ? ['-m'] : []), source, `::/${name}`], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' },
  });
}

export interface Verified {
  status: number | null;
  report: VerifyReport;
  stdout: string;
  stderr: string;
}

function parsed(result: { status: number | null; stdout: string; stderr: string }): Verified {
  const envelope = responseEnvelope(result.stdout);
  if (!envelope.ok) throw new Error(`verify failed: ${JSON.stringify(envelope.error)}\n${result.stderr}`);
  return { ...result, report: verifyReportSchema.parse(envelope.value) };
}

/** `apkovl verify ... --json` with an empty download cache unless one is given; the report checked by its schema. */
export function verifyJson(args: string[], cacheDir: string): Verified {
  return parsed(runCli(['verify', ...args, '--json'], { env: { APKOVL_CACHE_DIR: cacheDir } }));
}

/** The same without blocking the test process (for a mirror the test serves). */
export async function verifyJsonAsync(args: string[]): Promise<Verified> {
  return parsed(await runCliAsync(['verify', ...args, '--json']));
}

export function check(report: VerifyReport, id: VerifyCheckId) {
  const found = report.checks.find((each) => each.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

/** Check id -> status, to compare whole reports at a glance. */
export function statuses(report: VerifyReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((each) => [each.id, each.status]));
}
