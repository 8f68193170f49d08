import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import type { BlockTarget } from '../../main/services/flash/block-target.js';
import { buildImage } from '../../main/services/image/build-image.js';
import {
  createBiosIso,
  DEBIAN_SYSLINUX,
  haveDebianSyslinux,
  offlineX86Definition,
  x86PackageMirror,
  type BiosIso,
} from '../helpers/bios-iso.js';
import { fsckFat, sfdiskJson } from '../helpers/external-tools.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { haveCommand, missing } from '../helpers/requirements.js';
import { check, statuses, verifyJson } from '../helpers/verify-cards.js';

/**
 * A BIOS+UEFI stick (firmware: bios-uefi) from an ISO built as Alpine builds its own, read back
 * with tools nobody here wrote: sfdisk (the partition table), 7z and xorriso (the ISO in
 * partition 1), fsck.fat and mtools (the FAT32 partition 2), and SeaBIOS (isolinux from the
 * partition reads its syslinux.cfg).
 */
const tools =
  haveDebianSyslinux &&
  ['xorrisofs', 'sfdisk', '7z', 'mcopy', 'mkfs.vfat', 'fsck.fat'].every((tool) =>
    haveCommand(tool, tool === '7z' ? [] : ['--version']),
  );

// eslint-disable-next-line no-control-regex -- terminal escape sequences are what it removes
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The target with its writes going through `write`. */
function withWrite(target: BlockTarget, write: (buffer: Buffer, position: number) => Promise<void>): BlockTarget {
  return {
    description: target.description,
    size: target.size,
    allocate: (size) => target.allocate(size),
    write,
    zero: (position, length) => target.zero(position, length),
    read: (buffer, position) => target.read(buffer, position),
    flush: () => target.flush(),
    commit: () => target.commit(),
    abort: () => target.abort(),
  };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function slice(image: string, start: number, length: number): Buffer {
  const all = readFileSync(image);
  return all.subarray(start, start + length);
}

describe.skipIf(
  missing(
    tools,
    'xorriso, sfdisk, 7z, mtools, dosfstools and Debian syslinux files (packages xorriso fdisk p7zip-full mtools dosfstools isolinux syslinux-common)',
  ),
)('a BIOS+UEFI x86_64 stick (ISO in partition 1, FAT32 in partition 2)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let iso: BiosIso;
  let stick: string;
  let summary: Awaited<ReturnType<typeof buildImage>>;

  beforeAll(async () => {
    temp = makeTempDir();
    iso = createBiosIso({
      dir: temp.dir,
      syslinuxPreamble: ['SAY APKOVL-BIOS: isolinux read syslinux.cfg from partition 1'],
    });
    stick = path.join(temp.dir, 'stick.img');
    summary = await buildImage({
      bootMedia: iso.iso,
      overlay: createOverlay(temp.dir, 'edge-1', { 'etc/.default_boot_services': '' }),
      output: stick,
      partitionBytes: 64 << 20,
      firmware: 'bios-uefi',
      apkKeys: [iso.keyFile],
      cmdlineAppend: ['console=ttyS0', 'usbdelay=3'],
    });
  }, 60_000);
  afterAll(() => temp.cleanup());

  /** Partition 1 of the stick as a file of its own (dd). */
  function extractPartition1(): string {
    const part = path.join(temp.dir, 'partition1.iso');
    const bytes = summary.isoPartition?.bytes ?? 0;
    execFileSync('dd', [
      `if=${stick}`,
      `of=${part}`,
      'bs=1M',
      'skip=1',
      `count=${bytes}`,
      'iflag=count_bytes',
      'status=none',
    ]);
    return part;
  }

  it('reports the firmware, both partitions and where the boot code came from', () => {
    expect(summary.firmware).toEqual(['bios', 'uefi']);
    expect(summary.isoPartition).toMatchObject({ startLba: 2048, type: 0x17, volumeId: iso.volumeId });
    expect(summary.isoPartition?.edited).toEqual(['boot/syslinux/syslinux.cfg', 'boot/grub/grub.cfg']);
    expect(summary.partition.bootable).toBe(false);
    expect(summary.partition.bytes).toBe(64 << 20);
    expect(summary.bootCode?.package).toBe('syslinux-6.04_pre1-r15');
    expect(summary.bootCode?.source).toMatch(/boot media/);
  });

  it('has an MBR with syslinux mbr.bin, the ISO active in partition 1 and FAT32 in partition 2 (sfdisk)', () => {
    const table = sfdiskJson(stick);
    expect(table.label).toBe('dos');
    const [first, second] = table.partitions;
    expect(first).toMatchObject({ start: 2048, type: '17', bootable: true });
    expect(second).toMatchObject({ type: 'c' });
    expect(second?.bootable ?? false).toBe(false);
    expect((second?.start ?? 0) % 2048).toBe(0);
    expect(second?.start ?? 0).toBeGreaterThanOrEqual(2048 + (first?.size ?? 0));
    const mbr = slice(stick, 0, 512);
    expect(mbr.subarray(0, 440).equals(readFileSync(DEBIAN_SYSLINUX.mbr))).toBe(true);
  });

  it("puts isohdppx.bin and isolinux.bin's sector in partition 1's boot sector, the ISO's system area cleared", () => {
    const vbr = slice(stick, 2048 * 512, 512);
    expect(vbr.subarray(0, 432).equals(readFileSync(DEBIAN_SYSLINUX.isohdppx))).toBe(true);
    // isohybrid's pointer: the same value xorriso wrote into the ISO's own MBR.
    expect(vbr.readBigUInt64LE(432)).toBe(readFileSync(iso.iso).readBigUInt64LE(432));
    expect(vbr.readUInt16LE(510)).toBe(0xaa55);
    expect(slice(stick, 2048 * 512 + 512, 32 * 1024 - 512).every((byte) => byte === 0)).toBe(true);
  });

  it('keeps the ISO readable in partition 1: every file as built, the configurations with the kernel parameters (7z, xorriso)', () => {
    const part = extractPartition1();
    const out = path.join(temp.dir, 'iso-out');
    execFileSync('7z', ['x', '-y', `-o${out}`, part], { stdio: 'pipe' });
    for (const [file, hash] of iso.files) {
      if (file === 'boot/syslinux/syslinux.cfg' || file === 'boot/grub/grub.cfg') continue;
      expect(sha256(readFileSync(path.join(out, file))), file).toBe(hash);
    }
    const syslinux = readFileSync(path.join(out, 'boot/syslinux/syslinux.cfg'), 'utf8');
    expect(syslinux).toMatch(/^APPEND modules=loop,squashfs,sd-mod,usb-storage quiet console=ttyS0 usbdelay=3$/m);
    const grub = readFileSync(path.join(out, 'boot/grub/grub.cfg'), 'utf8');
    expect(grub).toMatch(
      /^linux\t\/boot\/vmlinuz-lts modules=loop,squashfs,sd-mod,usb-storage quiet console=ttyS0 usbdelay=3$/m,
    );
    // xorriso reads the same sizes through the Rock Ridge tree.
    const listing = execFileSync('xorriso', ['-indev', part, '-find', '/boot/grub/grub.cfg', '-exec', 'lsdl'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(listing).toContain(String(Buffer.byteLength(grub)));
  });

  it('has a clean FAT32 partition 2 with the EFI loader and the one apkovl (fsck.fat, mtools)', () => {
    const start = summary.partition.startLba * 512;
    const check = fsckFat(stick, start, summary.partition.bytes);
    expect(check.status, check.output).toBe(0);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const listing = execFileSync('mdir', ['-i', `${stick}@@${start}`, '-/', '-b', '-a', '::'], {
      env,
      encoding: 'utf8',
    });
    const paths = listing
      .split('\n')
      .map((line) => line.trim().replace(/^::\//, '').replace(/\/$/, ''))
      .filter(Boolean);
    expect(paths).toContain('EFI/BOOT/BOOTX64.EFI');
    expect(paths).toContain('edge-1.apkovl.tar.gz');
    expect(paths.filter((name) => /apkovl\.tar\.gz/.test(name))).toHaveLength(1);
    expect(paths.some((name) => name.startsWith('boot/') || name.startsWith('apks'))).toBe(false);
    const loader = execFileSync('mtype', ['-i', `${stick}@@${start}`, '::/EFI/BOOT/BOOTX64.EFI'], {
      env,
      maxBuffer: 1 << 26,
    });
    expect(sha256(loader)).toBe(iso.files.get('efi/boot/bootx64.efi'));
  });

  it.skipIf(!existsSync('/usr/share/seabios/bios.bin') || !haveCommand('qemu-system-x86_64'))(
    'boots under SeaBIOS: mbr.bin, isohdppx.bin and isolinux from partition 1 read syslinux.cfg',
    async () => {
      const qemu = spawn(
        'qemu-system-x86_64',
        [
          '-m',
          '128',
          '-nographic',
          '-vga',
          'none',
          '-no-reboot',
          '-net',
          'none',
          '-drive',
          `file=${stick},format=raw,if=virtio,snapshot=on`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      const seen = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 60_000);
        qemu.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('latin1');
          // Without the terminal's cursor moves (which land anywhere in a line, and across chunks).
          if (/APKOVL-BIOS: isolinux read syslinux\.cfg/.test(output.replace(ESCAPES, ''))) {
            clearTimeout(timer);
            resolve(true);
          }
        });
      });
      const found = await seen;
      qemu.kill('SIGKILL');
      expect(found, output.slice(0, 3000)).toBe(true);
      expect(output).toMatch(/ISOLINUX/);
    },
    90_000,
  );

  it('apkovl verify understands the layout: the BIOS chain, the ISO against the boot media, the FAT partition', () => {
    const cacheDir = path.join(temp.dir, 'empty-cache');
    const { report } = verifyJson([stick, '--boot-media', iso.iso, '--apk-key', iso.keyFile], cacheDir);
    expect(
      statuses(report),
      JSON.stringify(
        report.checks.filter((each) => each.problems.length > 0),
        null,
        1,
      ),
    ).toMatchObject({
      partition: 'ok',
      filesystem: 'ok',
      release: 'ok',
      'boot-files': 'ok',
      'bios-boot': 'ok',
      apkovl: 'ok',
      'boot-media': 'ok',
    });
    expect(report.card.board).toBe('x86_64');
    expect(report.card.arch).toBe('x86_64');
    expect(check(report, 'bios-boot').details.join('\n')).toMatch(
      /files? of the ISO compared with alpine-standard-3\.22\.2-x86_64\.iso/,
    );
    expect(report.verdict).toBe('good');
  });

  it('apkovl verify names a damaged file inside the ISO partition, with its byte range', () => {
    const damaged = path.join(temp.dir, 'damaged.img');
    execFileSync('cp', ['--sparse=always', stick, damaged]);
    const part = extractPartition1();
    // The modloop's place in the partition, found by xorriso in the extracted copy.
    const found = execFileSync('xorriso', ['-indev', part, '-find', '/boot/modloop-lts', '-exec', 'report_lba'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lba = Number(/File data lba:\s*\d+\s*,\s*(\d+)/.exec(found)?.[1]);
    expect(Number.isInteger(lba)).toBe(true);
    const at = 2048 * 512 + lba * 2048 + 100;
    const fd = execFileSync('python3', [
      '-c',
      `f=open(${JSON.stringify(damaged)},'r+b');f.seek(${at});b=f.read(1);f.seek(${at});f.write(bytes([b[0]^255]));f.close()`,
    ]);
    void fd;
    const { report } = verifyJson(
      [damaged, '--boot-media', iso.iso, '--apk-key', iso.keyFile],
      path.join(temp.dir, 'empty-cache'),
    );
    const bios = check(report, 'bios-boot');
    expect(bios.status).toBe('failed');
    const modloop = bios.problems.find((each) => each.paths.includes('boot/modloop-lts'));
    expect(modloop?.message).toMatch(/differs from the boot media/);
    expect(modloop?.ranges.some((range) => range.start <= at && at < range.end)).toBe(true);
    expect(report.verdict).not.toBe('good');
  });

  it('apkovl verify calls out the naive layout: the ISO written as dd would, a FAT partition added after it', () => {
    const naive = path.join(temp.dir, 'naive.img');
    const isoBytes = readFileSync(iso.iso).length;
    const fatStart = Math.ceil(isoBytes / (1 << 20)) * (1 << 20);
    execFileSync('cp', [iso.iso, naive]);
    execFileSync('truncate', ['-s', String(fatStart + (64 << 20)), naive]);
    // The FAT32 partition from our own stick, in slot 3 as in the field notes' trap.
    execFileSync('dd', [
      `if=${stick}`,
      `of=${naive}`,
      'bs=1M',
      `skip=${summary.partition.startLba / 2048}`,
      `seek=${fatStart >> 20}`,
      'count=64',
      'conv=notrunc',
      'status=none',
    ]);
    execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-N', '3', naive], {
      input: `${fatStart / 512},${(64 << 20) / 512},c\n`,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const { report } = verifyJson([naive], path.join(temp.dir, 'empty-cache'));
    const bios = check(report, 'bios-boot');
    expect(bios.status).toBe('failed');
    expect(bios.problems[0]?.message).toMatch(/whole disk carries an ISO 9660 file system/);
    expect(report.verdict).not.toBe('good');
  });

  it("takes syslinux from the release's main repository on the mirror when the ISO's repository lacks it, verified and cached", async () => {
    const { startMirror } = await import('../helpers/mirror-server.js');
    const { syntheticApkRepo, makeApkKey } = await import('../helpers/synthetic-apk-repo.js');
    const { syslinuxPackageFiles } = await import('../helpers/bios-iso.js');
    const { runCliAsync, responseEnvelope } = await import('../helpers/cli.js');
    const dir = path.join(temp.dir, 'mirror-case');
    execFileSync('mkdir', ['-p', dir]);
    const bare = createBiosIso({ dir, withSyslinux: false });
    const key = makeApkKey('apkovl-mirror-test@example.org-0002.rsa.pub');
    const keyFile = path.join(dir, key.name);
    writeFileSync(keyFile, key.publicPem);
    const repo = syntheticApkRepo({
      branch: 'v3.22',
      arch: 'x86_64',
      key,
      repositories: { main: [{ name: 'syslinux', version: '6.04_pre1-r15', files: syslinuxPackageFiles() }] },
    });
    const server = await startMirror(repo.files);
    try {
      const args = (output: string, ...extra: string[]) => [
        'build',
        '--overlay',
        createOverlay(dir, 'edge-3', { 'etc/.default_boot_services': '' }),
        '--boot-media',
        bare.iso,
        '--firmware',
        'bios-uefi',
        '--mirror',
        `${server.url}/alpine`,
        '--apk-key',
        bare.keyFile,
        '--apk-key',
        keyFile,
        '--cache-dir',
        path.join(dir, 'cache'),
        '--size',
        '64MiB',
        '--output',
        path.join(dir, output),
        '--json',
        ...extra,
      ];
      const first = await runCliAsync(args('first.img'));
      expect(first.status, first.stderr).toBe(0);
      const envelope = responseEnvelope(first.stdout);
      expect(envelope.ok).toBe(true);
      expect((envelope.value as { bootCode: { source: string } }).bootCode.source).toBe(
        `${server.url}/alpine/v3.22/main/x86_64/syslinux-6.04_pre1-r15.apk`,
      );
      expect(readFileSync(path.join(dir, 'first.img')).subarray(0, 440).equals(readFileSync(DEBIAN_SYSLINUX.mbr))).toBe(
        true,
      );
      // Again with --offline: the index and the package come from the download cache.
      const before = server.requests.length;
      const second = await runCliAsync(args('second.img', '--offline'));
      expect(second.status, second.stderr).toBe(0);
      expect(server.requests.length).toBe(before);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('alpine.offline on a BIOS+UEFI stick: packages missing from the ISO go into the FAT partition, and verify finds them', async () => {
    const { runCliAsync } = await import('../helpers/cli.js');
    const dir = path.join(temp.dir, 'offline-case');
    execFileSync('mkdir', ['-p', dir]);
    const { server, keyFile, mirror } = await x86PackageMirror(dir, 'apkovl-offline-x86');
    try {
      const definition = offlineX86Definition(path.join(dir, 'server.yml'), 'edge-9', mirror);
      const output = path.join(dir, 'offline.img');
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
        path.join(dir, 'cache'),
        '--size',
        '64MiB',
        '--output',
        output,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/boots with +BIOS \(legacy\) and UEFI PCs/);
      expect(result.stdout).toMatch(/apk cache +3 packages .* 1 more on the boot media/);
      const table = sfdiskJson(output);
      const start = (table.partitions[1]?.start ?? 0) * 512;
      const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
      const listing = execFileSync('mdir', ['-i', `${output}@@${start}`, '-b', '::/cache'], { env, encoding: 'utf8' });
      expect(listing).toMatch(/htop-3\.4\.1-r0\.[0-9a-f]{8}\.apk/);
      expect(listing).not.toMatch(/alpine-base/);
      const { report } = verifyJson([output, '--apk-key', keyFile, '--apk-key', iso.keyFile], path.join(dir, 'cache2'));
      const cache = check(report, 'apk-cache');
      expect(cache.status, JSON.stringify(cache)).toBe('ok');
      expect(cache.summary).toMatch(/1 on the boot media/);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('an interrupted write leaves no partition table and no ISO volume descriptor: nothing that looks like a stick', async () => {
    const { openFileInPlace } = await import('../../main/services/flash/file-target.js');
    const { openIso } = await import('../../main/services/boot-media/iso9660.js');
    const { planIsoPartition } = await import('../../main/services/boot-media/iso-partition.js');
    const { writeHybridStick } = await import('../../main/services/image/hybrid-stick-writer.js');
    const { decodeMbr } = await import('../../main/services/image/mbr.js');
    const image = await openIso(iso.iso);
    const plan = await planIsoPartition(image, ['console=ttyS0']);
    await image.close();
    const bootCode = {
      mbr: readFileSync(DEBIAN_SYSLINUX.mbr),
      isoPartitionCode: readFileSync(DEBIAN_SYSLINUX.isohdppx),
    };
    // A stick with no files: the ISO, an empty FAT32 partition, the boot code.
    const write = (target: BlockTarget) =>
      writeHybridStick({
        target,
        iso: { path: iso.iso, plan },
        bootCode,
        entries: (async function* () {})(),
        volumeLabel: 'X',
        defaultMtime: 0,
        identity: () => ({ volumeId: 1, diskSignature: 2 }),
      });
    let writes = 0;
    {
      // Count the writes of a whole run, on a copy of the good stick.
      const copy = path.join(temp.dir, 'count.img');
      execFileSync('cp', ['--sparse=always', stick, copy]);
      const target = await openFileInPlace(copy);
      const counting = withWrite(target, async (buffer, position) => {
        writes += 1;
        await target.write(buffer, position);
      });
      await write(counting);
      await target.commit();
    }
    expect(writes).toBeGreaterThan(3);
    for (const stopAt of [1, Math.floor(writes / 2), writes - 2, writes - 1]) {
      const copy = path.join(temp.dir, `interrupted-${stopAt}.img`);
      execFileSync('cp', ['--sparse=always', stick, copy]);
      const target = await openFileInPlace(copy);
      let count = 0;
      const failing = withWrite(target, async (buffer, position) => {
        count += 1;
        if (count > stopAt) throw new AppError('io', `the stick went away at byte ${position}`);
        await target.write(buffer, position);
      });
      await expect(write(failing)).rejects.toThrow(/went away/);
      await target.commit();
      const bytes = readFileSync(copy);
      expect(decodeMbr(bytes.subarray(0, 512)), `stopped after ${stopAt} of ${writes} writes`).toBeNull();
      // The ISO's volume descriptors land second to last, just before the MBR.
      if (stopAt < writes - 1) {
        expect(bytes.toString('latin1', 2048 * 512 + 32 * 1024 + 1, 2048 * 512 + 32 * 1024 + 6)).not.toBe('CD001');
      }
      expect(bytes.toString('latin1', 32 * 1024 + 1, 32 * 1024 + 6)).not.toBe('CD001');
    }
  });

  it('refuses an ISO that carries an apkovl of its own, and one whose repository has no syslinux', async () => {
    const dir = path.join(temp.dir, 'refusals');
    execFileSync('mkdir', ['-p', dir]);
    const stray = createBiosIso({ dir, extra: { 'old.apkovl.tar.gz': 'x' } });
    const attempt = (media: BiosIso, output: string) =>
      buildImage({
        bootMedia: media.iso,
        overlay: createOverlay(dir, 'edge-2'),
        output: path.join(dir, output),
        partitionBytes: 64 << 20,
        firmware: 'bios-uefi',
        apkKeys: [media.keyFile],
      });
    await expect(attempt(stray, 'a.img')).rejects.toThrow(/carries an apkovl of its own \(old\.apkovl\.tar\.gz\)/);
    const dir2 = path.join(dir, 'second');
    execFileSync('mkdir', ['-p', dir2]);
    const bare = createBiosIso({ dir: dir2, withSyslinux: false });
    const error = await attempt(bare, 'b.img').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toMatch(/not in the (download )?cache|syslinux/);
    expect(existsSync(path.join(dir, 'a.img'))).toBe(false);
    expect(existsSync(path.join(dir, 'b.img'))).toBe(false);
  }, 60_000);
});
