import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../main/services/index.js';
import { createHandlers } from '../../main/services/ipc-handlers.js';
import { createRouter } from '../../shared/ipc/router.js';
import { verifyReportSchema } from '../../shared/model/verify-report.js';
import { runCli, wireLines } from '../helpers/cli.js';
import { crossLink } from '../helpers/fat-corrupt.js';
import { haveCommand, missing } from '../helpers/requirements.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  BOOTED_KIOSK_REPORT,
  check,
  copyCard,
  flipByte,
  kioskCard,
  KIOSK,
  mcopyTo,
  SECRETS,
  statuses,
  verifyJson,
} from '../helpers/verify-cards.js';

let temp: ReturnType<typeof makeTempDir>;
let card: string;
let tarball: string;
let cacheDir: string;
/** When the machine saved things on the card: after the card was written (the media's time, 2025). */
const LATER = Date.UTC(2026, 10, 28, 10, 0, 0) / 1000;

beforeAll(async () => {
  temp = makeTempDir('apkovl-verify-');
  cacheDir = path.join(temp.dir, 'empty-cache');
  const built = await kioskCard(temp.dir);
  card = built.image;
  tarball = built.media.tarball;
});
afterAll(() => temp.cleanup());

const verify = (args: string[]) => verifyJson(args, cacheDir);

describe.skipIf(missing(haveCommand('mcopy', ['-V']), 'mcopy (Debian package mtools)'))('apkovl verify', () => {
  it('finds a card as written good: exit 0, the JSON envelope, progress, every check', () => {
    const result = verify([card]);
    expect(result.status, result.stderr).toBe(0);
    const lines = wireLines(result.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'response', id: null, command: 'card.verify', envelope: { ok: true } });
    expect(lines.some((line) => line.type === 'event' && JSON.stringify(line).includes('"phase":"verify"'))).toBe(true);
    const { report } = result;
    expect(report.verdict).toBe('good');
    expect(statuses(report)).toEqual({
      partition: 'ok',
      filesystem: 'ok',
      release: 'ok',
      'boot-files': 'ok',
      'bios-boot': 'skipped',
      manifest: 'ok',
      apkovl: 'ok',
      'boot-media': 'skipped',
      definition: 'skipped',
      'apk-cache': 'skipped',
      'first-boot': 'skipped',
    });
    expect(report.card).toMatchObject({
      medium: { kind: 'image', path: card },
      partition: { number: 1, type: 0x0c, startByte: 1 << 20, bytes: 64 << 20 },
      volume: { label: 'KIOSK-HALL' },
      alpineRelease: 'alpine-rpi-3.22.2 251009',
      alpineVersion: '3.22.2',
      branch: 'v3.22',
      arch: 'aarch64',
      board: 'rpi',
      apkovl: { name: 'kiosk-hall.apkovl.tar.gz', hostname: 'kiosk-hall' },
      manifest: { tool: { name: 'apkovl-studio' }, definition: { file: 'kiosk.yml' } },
    });
    const text = runCli(['verify', card], { env: { APKOVL_CACHE_DIR: cacheDir } });
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`${card}: GOOD`);
    expect(text.stdout).toMatch(/ok +The apkovl +kiosk-hall\.apkovl\.tar\.gz \(\d+ members, \d+ bytes\): as written/);
  });

  it('names the file a changed byte belongs to, with its byte range; to the byte with the boot media', async () => {
    const image = copyCard(card, 'flipped.img');
    const position = await flipByte(image, 'boot/vmlinuz-rpi', 1000);
    const result = verify([image]);
    expect(result.status).toBe(1);
    expect(result.report.verdict).toBe('damaged');
    expect(result.report.headline).toContain('boot/vmlinuz-rpi');
    const [found, ...others] = check(result.report, 'manifest').problems;
    expect(others).toEqual([]);
    expect(found).toMatchObject({ severity: 'damage', paths: ['boot/vmlinuz-rpi'] });
    expect(found?.ranges.some((range) => range.start <= position && position < range.end)).toBe(true);
    expect(check(result.report, 'filesystem').status).toBe('ok');

    const exact = verify([image, '--boot-media', tarball]);
    expect(exact.status).toBe(1);
    const media = check(exact.report, 'boot-media');
    expect(media.problems).toEqual([
      expect.objectContaining({
        severity: 'damage',
        paths: ['boot/vmlinuz-rpi'],
        ranges: [{ start: position, end: position + 1 }],
      }),
    ]);
    expect(media.problems[0]?.message).toContain('1 byte differs, from byte 1000 of the file');
    const text = runCli(['verify', image, '--boot-media', tarball], { env: { APKOVL_CACHE_DIR: cacheDir } });
    expect(text.stdout).toContain(`at bytes ${position}-${position} of ${image}`);
  });

  it('a second apkovl: exit 1, both named, and why (the initramfs takes the first it finds)', () => {
    const image = copyCard(card, 'two-apkovls.img');
    mcopyTo(image, createOverlay(temp.dir, 'intruder'), 'intruder.apkovl.tar.gz');
    const result = verify([image]);
    expect(result.status).toBe(1);
    expect(result.report.verdict).toBe('faulty');
    const apkovl = check(result.report, 'apkovl');
    expect(apkovl.status).toBe('failed');
    const problem = apkovl.problems.find((each) => each.paths.length === 2);
    expect(problem?.paths).toEqual(['kiosk-hall.apkovl.tar.gz', 'intruder.apkovl.tar.gz']);
    expect(problem?.message).toMatch(/2 apkovls .*the initramfs takes the first it finds/);
    expect(problem?.ranges.length).toBeGreaterThanOrEqual(2);
    // The manifest itself still matches: the card is intact, it holds one apkovl too many.
    expect(check(result.report, 'manifest').status).toBe('ok');
  });

  it('a FAT cross-link: exit 1, naming both files', async () => {
    const image = copyCard(card, 'cross-linked.img');
    await crossLink(image, 'boot/vmlinuz-rpi', 'boot/initramfs-rpi');
    const result = verify([image]);
    expect(result.status).toBe(1);
    expect(result.report.verdict).toBe('damaged');
    const filesystem = check(result.report, 'filesystem');
    expect(filesystem.problems).toEqual([
      expect.objectContaining({ severity: 'damage', paths: ['boot/vmlinuz-rpi', 'boot/initramfs-rpi'] }),
    ]);
    expect(filesystem.problems[0]?.message).toMatch(/belongs to both \/boot\/vmlinuz-rpi and \/boot\/initramfs-rpi/);
    // The data of both files is still intact: the chain of the second is followed past the crossing.
    expect(check(result.report, 'manifest').status).toBe('ok');
    expect(result.report.headline).toContain('boot/vmlinuz-rpi and boot/initramfs-rpi');
  });

  it('an apkovl saved again later (lbu commit) is a change, checked with the lint rules; a damaged one is damage', async () => {
    const changedDefinition = path.join(temp.dir, 'kiosk-changed.yml');
    writeFileSync(
      changedDefinition,
      readFileSync(KIOSK, 'utf8').replace("https://departures.example/it's-hall", 'https://arrivals.example/'),
    );
    const out = path.join(temp.dir, 'saved');
    expect(runCli(['overlay', changedDefinition, '--secrets', SECRETS, '-o', out]).status).toBe(0);
    const image = copyCard(card, 'lbu-commit.img');
    mcopyTo(image, path.join(out, 'kiosk-hall.apkovl.tar.gz'), 'kiosk-hall.apkovl.tar.gz', LATER);
    const result = verify([image, '--machine', KIOSK, '--secrets', SECRETS]);
    expect(result.status, JSON.stringify(result.report.checks, null, 1)).toBe(0);
    expect(result.report.verdict).toBe('changed');
    const apkovl = check(result.report, 'apkovl');
    expect(apkovl.changes.map((each) => each.message)).toEqual([
      'kiosk-hall.apkovl.tar.gz was saved again on 2026-11-28 10:00 UTC (lbu commit), after the card was written',
    ]);
    expect(apkovl.summary).toContain('changed since the card was written');
    expect(check(result.report, 'manifest').status).toBe('ok');
    // The definition still tells which members the commit changed.
    expect(result.report.definition).toMatchObject({ identical: false, writtenFromIt: true });
    expect(result.report.definition?.differences).toEqual([
      expect.objectContaining({ path: 'usr/local/bin/kiosk-browser', how: 'content' }),
    ]);

    // The lint rules run on the new apkovl: a hand-made one without boot services fails them.
    const handMade = copyCard(card, 'hand-made.img');
    mcopyTo(handMade, createOverlay(temp.dir, 'kiosk-hall'), 'kiosk-hall.apkovl.tar.gz', LATER);
    const linted = verify([handMade]);
    expect(linted.status).toBe(1);
    expect(linted.report.verdict).toBe('faulty');
    const lint = check(linted.report, 'apkovl').problems.filter((each) => each.message.startsWith('['));
    expect(lint.some((each) => each.severity === 'fault')).toBe(true);

    // A byte changed in the apkovl, its time untouched: gzip's checksum fails, and that is damage.
    const broken = copyCard(card, 'broken-apkovl.img');
    const position = await flipByte(broken, 'kiosk-hall.apkovl.tar.gz', 200);
    const damaged = verify([broken]);
    expect(damaged.status).toBe(1);
    expect(damaged.report.verdict).toBe('damaged');
    const problem = check(damaged.report, 'apkovl').problems[0];
    expect(problem).toMatchObject({ severity: 'damage', paths: ['kiosk-hall.apkovl.tar.gz'] });
    expect(problem?.message).toMatch(/emergency shell/);
    expect(problem?.ranges.some((range) => range.start <= position && position < range.end)).toBe(true);
  });

  it('shows the first-boot report the machine wrote, as summary lines', () => {
    const image = copyCard(card, 'booted.img');
    const report = path.join(temp.dir, 'apkovl-report.json');
    writeFileSync(report, JSON.stringify(BOOTED_KIOSK_REPORT));
    mcopyTo(image, report, 'apkovl-report.json', LATER);
    const result = verify([image]);
    expect(result.status).toBe(0);
    expect(result.report.verdict).toBe('changed');
    expect(result.report.firstBoot?.lines).toEqual(
      expect.arrayContaining([
        'booted on a Raspberry Pi 4 Model B Rev 1.4 on 2026-11-28 10:02 UTC as kiosk-hall',
        'eth0 192.168.1.23',
        '2 packages missing: chromium, cage',
      ]),
    );
    expect(check(result.report, 'first-boot').problems[0]?.message).toBe(
      'the machine reported 2 packages missing: chromium and cage',
    );
    // Not in the manifest, and expected there.
    expect(check(result.report, 'manifest').status).toBe('ok');
    const text = runCli(['verify', image], { env: { APKOVL_CACHE_DIR: cacheDir } }).stdout;
    expect(text).toContain('First boot (reported 2026-11-28T10:02:41Z)\n  booted on a Raspberry Pi 4 Model B Rev 1.4');
  });

  it('usage errors exit 2: no card, --secrets alone, missing files, a file that is no card', () => {
    const cases: [string[], RegExp][] = [
      [['verify'], /missing required argument 'card'/],
      [['verify', card, '--secrets', SECRETS], /--secrets belongs to --machine/],
      [['verify', card, '--machine', path.join(temp.dir, 'nowhere.yml')], /cannot read the machine definition/],
      [['verify', path.join(temp.dir, 'nowhere.img')], /nowhere\.img does not exist/],
      [['verify', tarball], /is a gzip file \(an apkovl or boot media\), not a card image/],
      [['verify', card, '--boot-media', KIOSK], /is not Alpine boot media/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(args, { env: { APKOVL_CACHE_DIR: cacheDir } });
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const json = runCli(['verify', path.join(temp.dir, 'nowhere.img'), '--json']);
    expect(json.status).toBe(2);
    expect(wireLines(json.stdout).at(-1)).toMatchObject({
      command: 'card.verify',
      envelope: { ok: false, error: { code: 'not-found' } },
    });
  });

  it('runs as a job through the IPC router, with progress, and the report fits the contract', async () => {
    const handlers = createHandlers(
      createServices({ now: () => performance.now(), env: { APKOVL_CACHE_DIR: cacheDir } }),
      {
        dialogs: { openFile: () => Promise.resolve(null), saveFile: () => Promise.resolve(null) },
        app: { name: 'test', version: '0', platform: 'linux', deviceAccess: { mode: 'privileged', detail: null } },
      },
    );
    const events: { name: string; payload: unknown }[] = [];
    const envelope = await createRouter(handlers).handle(
      'card.verify',
      { jobId: 'verify-1', request: { medium: { kind: 'image', path: card }, bootMedia: tarball } },
      { emit: (name, payload) => events.push({ name, payload }) },
    );
    expect(envelope.ok).toBe(true);
    const report = verifyReportSchema.parse((envelope as { value: unknown }).value);
    expect(report.verdict).toBe('good');
    expect(report.bootMedia).toMatchObject({ source: 'given', sameAsWritten: true });
    const phases = events.map((event) => (event.payload as { progress: { phase: string; label: string } }).progress);
    expect(phases.some((progress) => progress.label === 'Reading the card' && progress.phase === 'verify')).toBe(true);
    expect(phases.some((progress) => progress.label.startsWith('Comparing with alpine-rpi-3.22.2'))).toBe(true);
  });
});
