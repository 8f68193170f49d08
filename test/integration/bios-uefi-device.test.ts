import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildSummarySchema } from '../../shared/model/build-image.js';
import { createBiosIso, haveDebianSyslinux, type BiosIso } from '../helpers/bios-iso.js';
import { responseEnvelope, runCli } from '../helpers/cli.js';
import { describeWithLoopDevices, LoopDevices } from '../helpers/loop-devices.js';
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
  });
}
