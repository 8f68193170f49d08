import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildSummarySchema } from '../../shared/model/build-image.js';
import {
  createBiosIso,
  haveDebianSyslinux,
  offlineX86Definition,
  x86PackageMirror,
  type BiosIso,
} from '../helpers/bios-iso.js';
import { responseEnvelope, runCli, runCliAsync } from '../helpers/cli.js';
import { bytesWrittenBy, describeWithLoopDevices, LoopDevices } from '../helpers/loop-devices.js';
import { missing } from '../helpers/requirements.js';
import { makeTempDir } from '../helpers/temp.js';
import { check, verifyJson } from '../helpers/verify-cards.js';

/**
 * A BIOS+UEFI stick written straight to a drive (a loop device standing in for a USB stick) by
 * `apkovl build --device`, then `apkovl verify` of the drive: the same layout as an image, the
 * FAT32 partition over the rest of the drive.
 */
if (!missing(haveDebianSyslinux, 'Debian syslinux files (packages isolinux, syslinux-common)')) {
  describeWithLoopDevices('a BIOS+UEFI stick written to a drive', () => {
    let temp: ReturnType<typeof makeTempDir>;
    let iso: BiosIso;
    const loops = new LoopDevices();
    beforeAll(() => {
      temp = makeTempDir();
      iso = createBiosIso({ dir: temp.dir });
    }, 60_000);
    afterAll(() => {
      loops.detachAll();
      temp.cleanup();
    });

    it('writes the ISO partition and FAT32 over the rest of the drive, and verify finds it good', () => {
      const backing = path.join(temp.dir, 'stick.bin');
      execFileSync('truncate', ['-s', `${300 << 20}`, backing]);
      const device = loops.attach(backing);
      const definition = path.join(temp.dir, 'server.yml');
      expect(runCli(['init', '--template', 'x86-server', '-o', definition]).status).toBe(0);
      const result = runCli([
        'build',
        definition,
        '--boot-media',
        iso.iso,
        '--apk-key',
        iso.keyFile,
        '--device',
        device,
        '--yes',
        '--json',
      ]);
      expect(result.status, result.stderr).toBe(0);
      const envelope = responseEnvelope(result.stdout);
      if (!envelope.ok) throw new Error(JSON.stringify(envelope.error));
      const summary = buildSummarySchema.parse(envelope.value);
      expect(summary.firmware).toEqual(['bios', 'uefi']);
      expect(summary.isoPartition?.startLba).toBe(2048);
      // The FAT32 partition takes the rest of the drive, 1 MiB aligned after the ISO.
      expect((summary.partition.startLba + summary.partition.sectors) * 512).toBe(300 << 20);
      expect(summary.verification?.uncached).toBe(true);
      const table = JSON.parse(execFileSync('sfdisk', ['--json', device], { encoding: 'utf8' })) as {
        partitiontable: { partitions: { type: string; bootable?: boolean }[] };
      };
      expect(table.partitiontable.partitions.map((each) => [each.type, each.bootable ?? false])).toEqual([
        ['17', true],
        ['c', false],
      ]);
      const { report } = verifyJson([device, '--boot-media', iso.iso, '--apk-key', iso.keyFile], temp.dir);
      expect(check(report, 'bios-boot').status).toBe('ok');
      expect(report.verdict).toBe('good');
    }, 120_000);

    it('refuses a drive that holds the download cache the offline packages are read from, before writing', async () => {
      const { server, keyFile, mirror } = await x86PackageMirror(temp.dir, 'apkovl-guard');
      const backing = path.join(temp.dir, 'guarded.bin');
      execFileSync('truncate', ['-s', `${300 << 20}`, backing]);
      const device = loops.attach(backing);
      execFileSync('sfdisk', ['--quiet', device], { input: 'label: dos\n,64MiB,L\n' });
      execFileSync('partx', ['--add', device]);
      // No lazy initialisation: its background writes would count as written by the build.
      execFileSync('mkfs.ext4', ['-q', '-E', 'lazy_itable_init=0,lazy_journal_init=0', '-L', 'CACHE', `${device}p1`]);
      const mountpoint = path.join(temp.dir, 'cache-on-the-stick');
      mkdirSync(mountpoint);
      execFileSync('mount', [`${device}p1`, mountpoint]);
      try {
        const definition = offlineX86Definition(path.join(temp.dir, 'offline.yml'), 'edge-4', mirror);
        const before = bytesWrittenBy(device);
        const result = await runCliAsync([
          'build',
          definition,
          '--boot-media',
          iso.iso,
          '--apk-key',
          keyFile,
          '--apk-key',
          iso.keyFile,
          '--cache-dir',
          path.join(mountpoint, 'apkovl-cache'),
          '--device',
          device,
          '--yes',
        ]);
        expect(result.status, result.stdout).toBe(1);
        expect(result.stderr).toMatch(/cache-on-the-stick\/apkovl-cache/);
        expect(bytesWrittenBy(device) - before).toBeLessThan(1 << 20);
        expect(readFileSync('/proc/self/mounts', 'utf8')).toContain(mountpoint);
      } finally {
        spawnSync('umount', [mountpoint]);
        await server.close();
      }
    }, 120_000);
  });
}
