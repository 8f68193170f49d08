import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CARD_MANIFEST_NAME, cardManifestSchema } from '../../shared/model/card-manifest.js';
import { cliPath, responseEnvelope, responseValue, runCli } from '../helpers/cli.js';
import { fsckFat } from '../helpers/external-tools.js';
import {
  bytesWrittenBy,
  describeWithLoopDevices,
  dropDeviceCache,
  LoopDevices,
  sfdiskDump,
} from '../helpers/loop-devices.js';
import { flipByte } from '../helpers/verify-cards.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { missing } from '../helpers/requirements.js';
import { throttle, throttleUnavailable } from '../helpers/throttle.js';

/**
 * `apkovl build --device` and `apkovl erase` as a user runs them, on real loop devices: the
 * confirmation, the drive rules, unmounting, the written card checked with tools nobody here
 * wrote, and what is left when something stops the write.
 */
const MiB = 1024 * 1024;
const fixtures = path.resolve('test/fixtures/definitions');
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
const loops = new LoopDevices();

/** Bytes written to each device before the test used it (a loop device's counters outlive a detach). */
const writtenBefore = new Map<string, number>();

/** A sparse file of `bytes` attached to a loop device. */
function device(name: string, bytes: number): string {
  const file = path.join(temp.dir, `${name}.bin`);
  writeFileSync(file, '');
  truncateSync(file, bytes);
  const attached = loops.attach(file);
  writtenBefore.set(attached, bytesWrittenBy(attached));
  return attached;
}

/** Bytes written to `target` since this test attached it. */
function written(target: string): number {
  return bytesWrittenBy(target) - (writtenBefore.get(target) ?? 0);
}

const kioskBuild = (target: string, ...extra: string[]) => [
  'build',
  path.join(fixtures, 'kiosk.yml'),
  '--secrets',
  path.join(fixtures, 'secrets.yml'),
  '--boot-media',
  media.tarball,
  '--device',
  target,
  ...extra,
];

/** The card on `target` as fsck.fat and mtools see it, through its partition at 1 MiB. */
function cardManifest(target: string): ReturnType<typeof cardManifestSchema.parse> {
  const image = path.join(temp.dir, `copy-${path.basename(target)}.img`);
  execFileSync('dd', [`if=${target}`, `of=${image}`, 'bs=1M', 'count=200', 'iflag=direct', 'status=none']);
  const text = execFileSync('mtype', ['-i', `${image}@@1M`, `::/${CARD_MANIFEST_NAME}`], { encoding: 'utf8' });
  return cardManifestSchema.parse(JSON.parse(text));
}

let big: SyntheticMedia | null = null;
/** Media large enough to take a while to write, and not to fit a small drive. */
function bigMedia(): SyntheticMedia {
  big ??= createSyntheticRpiMedia({ dir: path.join(temp.dir, 'big'), scale: 2, overlayCount: 10, apkCount: 10 });
  return big;
}

/** Run the CLI in a pseudo-terminal (util-linux `script`), typing `typed` at its prompt. */
function runInTerminal(args: string[], typed: string): { status: number | null; output: string } {
  const command = [process.execPath, cliPath, ...args].map((part) => `'${part.replace(/'/g, "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { input: `${typed}\n`, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'media'), scale: 0.3 });
});
afterAll(() => {
  loops.detachAll();
  temp.cleanup();
});

describeWithLoopDevices('writing cards to drives from the command line (loop devices)', () => {
  it('writes a card after the drive name is typed, and the card is one fsck.fat and sfdisk accept', () => {
    const target = device('typed', 1200 * MiB);
    const wrong = runInTerminal(kioskBuild(target), 'sdz');
    expect(wrong.output).toMatch(/This erases everything on .*\(\/dev\/loop\d+, 1\.2 GiB, LOOP\)/);
    expect(wrong.output).toMatch(/not confirmed \(typed "sdz", not "loop\d+"\); nothing was written/);
    expect(wrong.status).toBe(130);
    expect(written(target)).toBe(0);

    const typed = runInTerminal(kioskBuild(target), path.basename(target));
    expect(typed.status, typed.output).toBe(0);
    expect(typed.output).toMatch(/Wrote \/dev\/loop\d+ \(1\.2 GiB drive/);
    expect(typed.output).toMatch(/read back .* identical/);
    // The definition's boot.partition_size: 1 GiB, at 1 MiB.
    expect(sfdiskDump(target).dump).toMatch(/start=\s+2048, size=\s+2097152, type=c, bootable/);
    expect(fsckFat(target, MiB, 1024 * MiB).status).toBe(0);
    const manifest = cardManifest(target);
    expect(manifest.apkovl?.path).toBe('kiosk-hall.apkovl.tar.gz');
    expect(manifest.bootMedia.file).toBe(path.basename(media.tarball));
  });

  it('with --json speaks the contract: probe, write and verify events, then the summary', () => {
    const target = device('json', 1200 * MiB);
    const result = runCli(kioskBuild(target, '--yes', '--json'));
    expect(result.status, result.stderr).toBe(0);
    const phases = new Set(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; name?: string; payload?: { progress?: { phase: string } } })
        .filter((line) => line.name === 'job.progress')
        .map((line) => line.payload?.progress?.phase),
    );
    expect([...phases]).toEqual(expect.arrayContaining(['build', 'probe', 'write', 'verify']));
    const summary = responseValue<{
      destination: { kind: string };
      bytesWritten: number;
      fileBytes: number;
      verification: { bytes: number; uncached: boolean };
    }>(result.stdout);
    expect(summary.destination.kind).toBe('device');
    expect(summary.verification.uncached).toBe(true);
    // Only what the card needs: its files, the FAT metadata and the wiped areas.
    expect(summary.bytesWritten).toBeLessThan(summary.fileBytes + 8 * MiB);
    expect(summary.bytesWritten).toBe(written(target));
    expect(summary.verification.bytes).toBeLessThanOrEqual(summary.bytesWritten);
  });

  it('writes a card that apkovl verify then calls good, and names a file whose byte changed on the drive', async () => {
    const target = device('verified', 1200 * MiB);
    expect(runCli(kioskBuild(target, '--yes')).status).toBe(0);
    const good = runCli(['verify', target, '--boot-media', media.tarball, '--json']);
    expect(good.status, good.stderr).toBe(0);
    expect(responseValue(good.stdout)).toMatchObject({ verdict: 'good' });

    const position = await flipByte(target, 'boot/vmlinuz-rpi', 1000);
    dropDeviceCache(target);
    const bad = runCli(['verify', target, '--boot-media', media.tarball]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/DAMAGED/);
    expect(bad.stdout).toMatch(/boot\/vmlinuz-rpi (is not what was written|differs from the boot media)/);
    expect(bad.stdout).toContain(`at bytes ${position}-${position}`);
  });

  it('asks for --large-drive before writing a drive larger than 128 GB', () => {
    const target = device('large', 200e9);
    const refused = runCli(['erase', target, '--yes']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/holds 186 GiB, more than 128 GB: it may not be the card you mean/);
    expect(written(target)).toBe(0);
    const listed = runCli(['drives', '--json']);
    expect(listed.status).toBe(0);
    const erased = runCli(['erase', target, '--yes', '--large-drive']);
    expect(erased.status, erased.stderr).toBe(0);
    expect(written(target)).toBeLessThan(64 * MiB);
  });

  it('unmounts the mounted ext4 partition of the chosen drive, then writes it', () => {
    const target = device('mounted', 1200 * MiB);
    execFileSync('sfdisk', ['--quiet', target], { input: 'label: dos\n,128MiB,L\n' });
    execFileSync('partx', ['--add', target]);
    const partition = `${target}p1`;
    execFileSync('mkfs.ext4', ['-q', '-L', 'OLDDATA', partition]);
    const mountpoint = path.join(temp.dir, 'mounted-here');
    mkdirSync(mountpoint);
    execFileSync('mount', [partition, mountpoint]);
    try {
      const result = runCli(kioskBuild(target, '--yes'));
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`warning      unmounted before writing: ${mountpoint}`);
      expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(mountpoint);
      expect(sfdiskDump(target).dump).toMatch(/type=c, bootable/);
    } finally {
      spawnSync('umount', [mountpoint]);
    }
  });

  it('refuses a drive too small for the partition or for the boot files before writing a byte', () => {
    const small = device('small', 256 * MiB);
    const partition = runCli(kioskBuild(small, '--yes'));
    expect(partition.status).toBe(1);
    expect(partition.stderr).toMatch(/a 1 GiB partition does not fit on 256 MiB/);
    expect(written(small)).toBe(0);

    const tiny = device('tiny', 40 * MiB);
    const big = bigMedia();
    const files = runCli([
      'build',
      path.join(fixtures, 'minimal.yml'),
      '--boot-media',
      big.tarball,
      '--device',
      tiny,
      '--yes',
    ]);
    expect(files.status).toBe(1);
    expect(files.stderr).toMatch(/the boot files need about .*, and \/dev\/loop\d+ has room for/);
    expect(files.stderr).toMatch(/nothing was written/);
    expect(written(tiny)).toBe(0);
  });

  it('asks for a terminal or --yes, and writes nothing without either', () => {
    const target = device('noterminal', 1200 * MiB);
    const result = runCli(kioskBuild(target));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/there is no terminal to confirm on/);
    expect(written(target)).toBe(0);
  });

  it.skipIf(missing(throttleUnavailable() === null, 'cgroup v1 blkio throttling (to write as slowly as a card)'))(
    'leaves no card that looks valid when the write is stopped',
    async () => {
      // Over a valid card, so that "nothing valid left" is not a given.
      const target = device('stopped', 1200 * MiB);
      expect(runCli(kioskBuild(target, '--yes')).status).toBe(0);
      // As slow as an SD card, so that it can be stopped in the middle whatever this machine's speed.
      const slow = throttle(target, { writeBytesPerSecond: 20e6, readBytesPerSecond: 40e6 });
      const [command, ...args] = slow.wrap([process.execPath, cliPath, ...kioskBuild(target, '--yes', '--json')]);
      const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/"phase":"write","label":"Writing boot files","bytes":[1-9]/.test(stdout)) resolve();
        });
        child.on('exit', () => reject(new Error(`the write ended before it could be stopped:\n${stdout}\n${stderr}`)));
      });
      child.kill('SIGINT');
      const status = await exit;
      slow.remove();
      expect(status, stderr).toBe(130);
      expect(sfdiskDump(target).dump).toBeNull();
      expect(fsckFat(target, MiB, 1024 * MiB).status).not.toBe(0);
    },
  );

  it('refuses a partition, a file, and a missing device, naming what to give instead', () => {
    const file = path.join(temp.dir, 'not-a-drive.img');
    writeFileSync(file, 'x');
    const asFile = runCli(kioskBuild(file, '--yes'));
    expect(asFile.status).toBe(1);
    expect(asFile.stderr).toMatch(/is a regular file, not a drive/);
    const missing = runCli(kioskBuild('/dev/loop-does-not-exist', '--yes'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('erases a stick back to one empty FAT32 partition over all of it', () => {
    const target = device('erase', 300 * MiB);
    const card = runCli([
      'build',
      path.join(fixtures, 'minimal.yml'),
      '--boot-media',
      media.tarball,
      '--device',
      target,
      '--yes',
    ]);
    expect(card.status, card.stderr).toBe(0);
    const result = runCli(['erase', target, '--label', 'STICK', '--yes', '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(responseValue(result.stdout)).toMatchObject({
      device: target,
      filesystem: { type: 'FAT32', label: 'STICK' },
      partition: { startLba: 2048, sectors: 300 * 2048 - 2048 },
    });
    expect(sfdiskDump(target).dump).toMatch(/start=\s+2048, size=\s+612352, type=c/);
    const fsck = fsckFat(target, MiB, 299 * MiB);
    expect(fsck.status).toBe(0);
    expect(fsck.output).toMatch(/0 files|1 files/);
    const image = path.join(temp.dir, 'erased.img');
    execFileSync('dd', [`if=${target}`, `of=${image}`, 'bs=1M', 'count=8', 'iflag=direct', 'status=none']);
    expect(execFileSync('mlabel', ['-i', `${image}@@1M`, '-s', '::'], { encoding: 'utf8' })).toMatch(/STICK/);
    const bad = runCli(['erase', target, '--label', 'lower case!', '--yes', '--json']);
    expect(bad.status).toBe(2);
    expect(responseEnvelope(bad.stdout)).toMatchObject({ ok: false, error: { code: 'usage', location: '--label' } });
  });

  it('tells a user who may not write the drive the exact command to run', () => {
    const target = device('unprivileged', 1200 * MiB);
    const result = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, ...kioskBuild(target, '--yes')],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toMatch(/this user may not write \/dev\/loop\d+: writing a drive needs root/);
    expect(result.stderr).toContain(`hint: run: sudo apkovl build ${path.join(fixtures, 'kiosk.yml')} --secrets`);
    expect(result.status).toBe(1);
    expect(existsSync(target)).toBe(true);
    expect(written(target)).toBe(0);
  });
});
