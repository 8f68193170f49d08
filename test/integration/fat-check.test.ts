import { execFileSync } from 'node:child_process';
import { rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../main/services/image/build-image.js';
import { foldName } from '../../main/services/image/fat-names.js';
import { Fat32Volume, readMbr, type ReadableMedium } from '../../main/services/image/fat-reader.js';
import { openReadableFile } from '../../main/services/image/readable-file.js';
import {
  checkFat32,
  fileAtOffset,
  type FatCheckReport,
  type FatFinding,
  type FatFindingCode,
} from '../../main/services/verify/fat-check.js';
import { fsckFat } from '../helpers/external-tools.js';
import * as corrupt from '../helpers/fat-corrupt.js';
import { createOverlay, createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { alpineMembers, writeTarGz, type TarMember } from '../helpers/tar-builder.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const PARTITION = 64 * MiB;
const PARTITION_OFFSET = MiB;

let temp: ReturnType<typeof makeTempDir>;
let base: string;
let counter = 0;

beforeAll(async () => {
  temp = makeTempDir();
  const media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.02, overlayCount: 40, apkCount: 10 });
  base = path.join(temp.dir, 'card.img');
  await buildImage({
    bootMedia: media.tarball,
    overlay: createOverlay(temp.dir, 'kiosk-hall'),
    output: base,
    partitionBytes: PARTITION,
  });
});
afterAll(() => temp.cleanup());

async function check(image: string, wrap: (medium: ReadableMedium) => ReadableMedium = (medium) => medium) {
  const medium = await openReadableFile(image);
  try {
    const partition = (await readMbr(medium))?.partitions[0];
    if (partition === undefined) throw new Error('no partition');
    return await checkFat32(wrap(medium), partition);
  } finally {
    await medium.close();
  }
}

/** A copy of the fresh card with `change` applied. */
async function damaged(change: (image: string) => Promise<unknown>): Promise<string> {
  counter += 1;
  const image = path.join(temp.dir, `damaged-${counter}.img`);
  execFileSync('cp', ['--sparse=always', base, image]);
  await change(image);
  return image;
}

function fsck(image: string): { status: number; output: string } {
  return fsckFat(image, PARTITION_OFFSET, PARTITION);
}

function only(report: FatCheckReport, code: FatFindingCode): FatFinding {
  const found = report.findings.filter((each) => each.code === code);
  expect(found, `${code} in ${JSON.stringify(report.findings.map((each) => each.code))}`).toHaveLength(1);
  return found[0]!;
}

const codes = (report: FatCheckReport): string[] => report.findings.map((each) => `${each.severity} ${each.code}`);

describe('a freshly built card', () => {
  let report: FatCheckReport;
  beforeAll(async () => {
    report = await check(base);
  });

  it('has no finding at all, and fsck.fat -n agrees', () => {
    expect(report.findings).toEqual([]);
    expect(report.damaged).toBe(false);
    const result = fsck(base);
    expect(result.status).toBe(0);
    expect(result.output).not.toMatch(/differ|wrong|lost|reclaim|truncat|circular|duplicate|free cluster \(/i);
  });

  it('lists every file and folder the reader sees, with sizes, clusters and times', async () => {
    const expected = new Map<string, { size: number; firstCluster: number; mtime: number; isDirectory: boolean }>();
    const medium = await openReadableFile(base);
    try {
      const volume = await Fat32Volume.open(medium, PARTITION_OFFSET, PARTITION);
      for await (const { path: name, entry } of volume.walk()) {
        expected.set(`/${name}`, {
          size: entry.isDirectory ? 0 : entry.size,
          firstCluster: entry.firstCluster,
          mtime: entry.mtime,
          isDirectory: entry.isDirectory,
        });
      }
    } finally {
      await medium.close();
    }
    expect(expected.size).toBeGreaterThan(60);
    const listed = report.files.filter((file) => file.path !== '/');
    expect(new Map(listed.map((file) => [file.path, { ...pick(file) }]))).toEqual(expected);
    expect(report.files[0]).toMatchObject({ path: '/', isDirectory: true, firstCluster: 2, mtime: null });
    const clusterSize = report.layout!.clusterSize;
    for (const file of listed.filter((each) => !each.isDirectory)) {
      const held = file.runs.reduce((sum, run) => sum + run.count, 0);
      expect(held, file.path).toBe(Math.ceil(file.size / clusterSize));
    }
    const used = report.files.reduce((sum, file) => sum + file.runs.reduce((runs, run) => runs + run.count, 0), 0);
    expect(report.volume).toMatchObject({ label: 'ALPINE', usedClusters: used, badClusters: 0 });
    expect(report.volume!.freeClusters + used).toBe(report.layout!.clusterCount);
  });

  it('maps a byte of the card to the file that holds it', async () => {
    const layout = report.layout!;
    const kernel = report.files.find((file) => file.path === '/boot/vmlinuz-rpi')!;
    const start = layout.dataOffset + (kernel.firstCluster - 2) * layout.clusterSize;
    expect(fileAtOffset(report, start)).toEqual({ file: kernel, offsetInFile: 0, pastEnd: false });
    expect(fileAtOffset(report, start + kernel.size - 1)).toMatchObject({ offsetInFile: kernel.size - 1 });
    expect(fileAtOffset(report, start + kernel.size)).toMatchObject({ file: kernel, pastEnd: true });
    // The byte at that offset of the medium is the byte at that offset of the file, read by the reader.
    const offset = start + 123_457;
    const location = fileAtOffset(report, offset)!;
    const medium = await openReadableFile(base);
    try {
      const byte = Buffer.alloc(1);
      await medium.read(byte, offset);
      const data = await (await Fat32Volume.open(medium, PARTITION_OFFSET, PARTITION)).readFile('boot/vmlinuz-rpi');
      expect(data[location.offsetInFile]).toBe(byte[0]);
    } finally {
      await medium.close();
    }
    const folder = report.files.find((file) => file.path === '/boot')!;
    expect(fileAtOffset(report, layout.dataOffset + (folder.firstCluster - 2) * layout.clusterSize)?.file).toBe(folder);
    expect(fileAtOffset(report, layout.fatOffset + 100)).toBeNull();
    expect(fileAtOffset(report, 0)).toBeNull();
    expect(fileAtOffset(report, layout.dataOffset + (layout.clusterCount - 1) * layout.clusterSize)).toBeNull();
  });
});

function pick(file: FatCheckReport['files'][number]) {
  return { size: file.size, firstCluster: file.firstCluster, mtime: file.mtime, isDirectory: file.isDirectory };
}

describe('deliberate damage: the checker names it, and fsck.fat -n sees it too', () => {
  it('a cross-link: both files, the cluster and its bytes', async () => {
    let shared = 0;
    const image = await damaged(async (file) => {
      shared = await corrupt.crossLink(file, 'boot/vmlinuz-rpi', 'boot/initramfs-rpi');
    });
    const report = await check(image);
    const crossLink = only(report, 'cross-link');
    expect(crossLink.severity).toBe('damage');
    expect(crossLink.paths).toEqual(['/boot/vmlinuz-rpi', '/boot/initramfs-rpi']);
    expect(crossLink.clusters).toEqual([{ first: shared, count: 1 }]);
    const layout = report.layout!;
    const start = layout.dataOffset + (shared - 2) * layout.clusterSize;
    expect(crossLink.ranges).toEqual([{ start, end: start + layout.clusterSize }]);
    const partitionStart = start - PARTITION_OFFSET;
    expect(crossLink.message).toContain(
      `cluster ${shared} (bytes ${group(partitionStart)}-${group(partitionStart + layout.clusterSize - 1)} of the partition) belongs to both /boot/vmlinuz-rpi and /boot/initramfs-rpi`,
    );
    expect(crossLink.message).toMatch(/chain of \/boot\/vmlinuz-rpi runs on past its end/);
    // The overlong chain is explained by the cross-link, not reported a second time.
    expect(codes(report)).toEqual(['damage cross-link']);
    const result = fsck(image);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/\/boot\/vmlinuz-rpi\n\s+File size is \d+ bytes, cluster chain length is >/);
    expect(result.output).toMatch(/\/boot\/initramfs-rpi\n\s+Contains a free cluster/);
  });

  it('a cross-link inside the data of both files', async () => {
    const image = await damaged(async (file) => {
      const fat = await corrupt.openFatImage(file);
      try {
        // The third cluster of the kernel leads into the initramfs: the kernel's own tail is lost.
        const kernel = await fat.clusters('boot/vmlinuz-rpi');
        const initramfs = await fat.clusters('boot/initramfs-rpi');
        await fat.setEntry(kernel[2]!, initramfs[5]!);
      } finally {
        await fat.close();
      }
    });
    const report = await check(image);
    expect(only(report, 'cross-link').message).toMatch(/both files keep data there/);
    expect(only(report, 'lost-clusters').severity).toBe('warning');
    expect(fsck(image).status).toBe(1);
  });

  it('lost clusters: count, runs and bytes, as a warning', async () => {
    const image = await damaged((file) => corrupt.markAllocated(file, 100_000, 10));
    const report = await check(image);
    expect(report.damaged).toBe(false);
    const lost = only(report, 'lost-clusters');
    expect(lost.severity).toBe('warning');
    expect(lost.clusters).toEqual([{ first: 100_000, count: 10 }]);
    const clusterSize = report.layout!.clusterSize;
    expect(lost.ranges[0]!.end - lost.ranges[0]!.start).toBe(10 * clusterSize);
    expect(lost.message).toContain(`10 clusters (${group(10 * clusterSize)} bytes)`);
    expect(lost.message).toContain('clusters 100000-100009');
    // Marking clusters used without telling FSInfo also leaves its free count stale.
    expect(codes(report)).toEqual(['warning lost-clusters', 'warning fsinfo-free-count']);
    const result = fsck(image);
    expect(result.status).toBe(1);
    expect(result.output).toContain(`Reclaimed 10 unused clusters (${10 * clusterSize} bytes)`);
  });

  it('a truncated chain (end of chain too early)', async () => {
    const image = await damaged((file) => corrupt.truncateChain(file, 'boot/vmlinuz-rpi', 3));
    const report = await check(image);
    const truncated = only(report, 'file-truncated');
    expect(truncated).toMatchObject({ severity: 'damage', paths: ['/boot/vmlinuz-rpi'] });
    expect(truncated.message).toMatch(/holds only 3 clusters \(1 536 bytes\): the last [\d ]+ bytes are missing/);
    const result = fsck(image);
    expect(result.output).toMatch(/\/boot\/vmlinuz-rpi\n\s+File size is \d+ bytes, cluster chain length is 1536 bytes/);
  });

  it('a chain that loops', async () => {
    const image = await damaged((file) => corrupt.makeLoop(file, 'boot/vmlinuz-rpi', 2));
    const report = await check(image);
    const loop = only(report, 'chain-loop');
    expect(loop).toMatchObject({ severity: 'damage', paths: ['/boot/vmlinuz-rpi'] });
    expect(loop.message).toMatch(/points back to cluster \d+, earlier in the same chain/);
    expect(codes(report)).toEqual(['damage chain-loop']);
    expect(fsck(image).output).toMatch(/\/boot\/vmlinuz-rpi\n\s+Circular cluster chain/);
  });

  it('a free cluster inside a chain', async () => {
    let freed = 0;
    const image = await damaged(async (file) => {
      freed = await corrupt.freeInsideChain(file, 'boot/vmlinuz-rpi', 5);
    });
    const report = await check(image);
    expect(only(report, 'chain-free-cluster')).toMatchObject({
      severity: 'damage',
      clusters: [{ first: freed, count: 1 }],
    });
    expect(only(report, 'lost-clusters').clusters[0]!.first).toBe(freed + 1);
    expect(fsck(image).output).toContain(`Contains a free cluster (${freed}). Assuming EOF.`);
  });

  it('FAT 1 and FAT 2 that differ: the differing clusters', async () => {
    const image = await damaged((file) => corrupt.differFats(file, 100_000, 0x0fff_ffff));
    const report = await check(image);
    const differ = only(report, 'fat-copies-differ');
    expect(differ).toMatchObject({ severity: 'warning', clusters: [{ first: 100_000, count: 1 }] });
    expect(differ.message).toMatch(
      /FAT 2 differs from FAT 1 in the entries of 1 cluster: cluster 100000; FAT 1, which systems read, agrees/,
    );
    const layout = report.layout!;
    expect(differ.ranges).toEqual([
      { start: layout.fatOffset + layout.fatBytes + 400_000, end: layout.fatOffset + layout.fatBytes + 400_004 },
    ]);
    expect(codes(report)).toEqual(['warning fat-copies-differ']);
    expect(fsck(image).output).toMatch(/FATs differ/);
  });

  it('a stale FSInfo free count is a warning, not damage', async () => {
    const image = await damaged((file) => corrupt.setFsInfoFreeCount(file, 1234));
    const report = await check(image);
    expect(report.damaged).toBe(false);
    expect(codes(report)).toEqual(['warning fsinfo-free-count']);
    const free = report.volume!.freeClusters;
    expect(only(report, 'fsinfo-free-count').message).toContain(
      `says 1 234 free clusters; the FAT has ${group(free)} free`,
    );
    expect(fsck(image).output).toContain(`Free cluster summary wrong (1234 vs. really ${free})`);
  });

  it('a damaged backup boot sector: which field differs', async () => {
    const image = await damaged((file) => corrupt.damageBackupBootSector(file));
    const report = await check(image);
    expect(codes(report)).toEqual(['warning backup-boot-sector-differs']);
    expect(only(report, 'backup-boot-sector-differs').message).toMatch(
      /sector 6\) differs from the boot sector in: volume label/,
    );
    // fsck.fat calls it "mostly harmless" and exits 0: a warning here too.
    const result = fsck(image);
    expect(result.output).toMatch(/differences between boot sector and its backup/);
    expect(result.status).toBe(0);
  });

  it('a file size larger than its chain, and one smaller', async () => {
    const larger = await check(await damaged((file) => corrupt.setFileSize(file, 'cmdline.txt', 5000)));
    expect(only(larger, 'file-truncated').message).toMatch(
      /\/cmdline.txt is 5 000 bytes but its chain holds only 1 cluster \(512 bytes\)/,
    );
    const smallerImage = await damaged((file) => corrupt.setFileSize(file, 'boot/vmlinuz-rpi', 1000));
    const smaller = await check(smallerImage);
    expect(smaller.damaged).toBe(false);
    expect(only(smaller, 'chain-too-long').message).toMatch(/more than its 1 000 bytes need/);
    expect(fsck(smallerImage).output).toMatch(/File size is 1000 bytes, cluster chain length is > 1024 bytes/);
  });

  it('a short name changed under its long name: the long name is lost and two entries share a name', async () => {
    const image = await damaged((file) => corrupt.setShortName(file, 'config.txt', 'CMDLINE TXT'));
    const report = await check(image);
    expect(codes(report)).toEqual(['damage long-name-mismatch', 'damage duplicate-name']);
    expect(only(report, 'long-name-mismatch').message).toMatch(/the long name "config.txt" does not belong/);
    const result = fsck(image);
    expect(result.output).toMatch(/Wrong checksum for long file name "config.txt"/);
    expect(result.output).toMatch(/Duplicate directory entry/);
  });
  it('a ".." that points to the wrong folder', async () => {
    const image = await damaged((file) => corrupt.setDotEntry(file, 'apks/aarch64', 1, 2));
    const report = await check(image);
    expect(codes(report)).toEqual(['warning dot-entries']);
    const apks = report.files.find((file) => file.path === '/apks')!;
    expect(only(report, 'dot-entries').message).toBe(
      `the folder /apks/aarch64: ".." points to cluster 2, not to the parent folder's (${apks.firstCluster})`,
    );
    expect(fsck(image).output).toMatch(/\/apks\/aarch64\n\s+Invalid '\.\.' entry in the second slot/);
  });
});

describe('what cannot be checked is said, not thrown', () => {
  it('a boot sector that is not FAT32', async () => {
    const image = await damaged(async (file) => {
      const handle = await import('node:fs/promises').then((fs) => fs.open(file, 'r+'));
      await handle.write(Buffer.alloc(512), 0, 512, PARTITION_OFFSET);
      await handle.close();
    });
    const report = await check(image);
    expect(codes(report)).toEqual(['damage boot-sector-invalid']);
    expect(report).toMatchObject({ damaged: true, layout: null, volume: null, files: [] });
    expect(only(report, 'boot-sector-invalid').message).toMatch(/no boot-sector signature/);
  });

  it('a truncated image', async () => {
    const image = await damaged(async (file) => truncateSync(file, PARTITION_OFFSET + PARTITION / 2));
    const report = await check(image);
    expect(report.findings[0]).toMatchObject({ severity: 'damage', code: 'partition-exceeds-medium' });
    expect(report.findings[0]!.message).toContain(`the medium ends at byte ${group(PARTITION_OFFSET + PARTITION / 2)}`);
  });

  it('a medium that cannot be read throws', async () => {
    const failing = (medium: ReadableMedium): ReadableMedium => ({
      size: medium.size,
      read: () => Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })),
    });
    await expect(check(base, failing)).rejects.toThrow(/EIO/);
  });

  it('reads the FAT in blocks of at most 1 MiB', async () => {
    let largest = 0;
    const counting = (medium: ReadableMedium): ReadableMedium => ({
      size: medium.size,
      read: (buffer, position) => {
        largest = Math.max(largest, buffer.length);
        return medium.read(buffer, position);
      },
    });
    const report = await check(base, counting);
    expect(report.findings).toEqual([]);
    expect(largest).toBeLessThanOrEqual(MiB);
  });
});

function group(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

describe('random media trees', () => {
  const folders = ['a', 'a/Long Folder Name', 'b.d', 'b.d/x'];
  const member = fc.record({
    folder: fc.constantFrom('', ...folders),
    // A few names recur (in different case too), so that later members replace earlier ones.
    name: fc.oneof(
      fc.constantFrom('kernel.img', 'KERNEL.IMG', 'usercfg.txt', 'cmdline.txt', 'A long name.conf'),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._+~-]{0,40}[A-Za-z0-9]$/),
    ),
    size: fc.oneof(fc.constantFrom(0, 1, 511, 512, 513, 4096), fc.integer({ min: 0, max: 40_000 })),
    link: fc.option(fc.nat(), { freq: 3 }),
  });

  type RandomMember = typeof member extends fc.Arbitrary<infer Value> ? Value : never;

  /**
   * Tar members for the random entries: names that clash in case folded onto the first
   * spelling (a later member of the same path replaces the earlier one), and links (symbolic and
   * hard) to whatever is a plain file at that moment, so that no link can close a loop.
   */
  function mediaMembers(random: RandomMember[]): TarMember[] {
    const spellings = new Map(
      ['boot', '.alpine-release', 'cmdline.txt', ...folders].map((name) => [foldName(name), name]),
    );
    const members: TarMember[] = folders.map((folder) => ({ name: `./${folder}/`, type: 'directory' }));
    const plainFiles = new Set(['boot/vmlinuz-rpi', 'cmdline.txt']);
    for (const [index, each] of random.entries()) {
      const wanted = each.folder === '' ? each.name : `${each.folder}/${each.name}`;
      const name = spellings.get(foldName(wanted)) ?? wanted;
      if (['boot', '.alpine-release', ...folders].includes(name)) continue;
      spellings.set(foldName(name), name);
      const targets = [...plainFiles].filter((file) => file !== name);
      if (each.link !== null && targets.length > 0) {
        const target = targets[each.link % targets.length]!;
        const symbolic = index % 2 === 0;
        members.push({
          name: `./${name}`,
          type: symbolic ? 'symlink' : 'link',
          linkname: symbolic ? path.posix.relative(path.posix.dirname(name), target) : `./${target}`,
        });
        plainFiles.delete(name);
      } else {
        members.push({ name: `./${name}`, content: Buffer.alloc(each.size, index) });
        plainFiles.add(name);
      }
    }
    return members;
  }

  it("build, then check: no finding, fsck.fat -n agrees, and the list is the reader's", async () => {
    const overlay = createOverlay(temp.dir, 'random-tree');
    await fc.assert(
      fc.asyncProperty(fc.array(member, { minLength: 1, maxLength: 30 }), async (random) => {
        counter += 1;
        const media = path.join(temp.dir, `random-${counter}.tar.gz`);
        await writeTarGz(media, [...alpineMembers(), ...mediaMembers(random)]);
        const image = path.join(temp.dir, `random-${counter}.img`);
        await buildImage({ bootMedia: media, overlay, output: image, partitionBytes: PARTITION });
        try {
          const report = await check(image);
          expect(report.findings).toEqual([]);
          const result = fsck(image);
          expect(result.status, result.output).toBe(0);
          const medium = await openReadableFile(image);
          const listed = new Map<string, number>();
          try {
            const volume = await Fat32Volume.open(medium, PARTITION_OFFSET, PARTITION);
            for await (const { path: name, entry } of volume.walk())
              listed.set(`/${name}`, entry.isDirectory ? -1 : entry.size);
          } finally {
            await medium.close();
          }
          const files = report.files.filter((file) => file.path !== '/');
          expect(new Map(files.map((file) => [file.path, file.isDirectory ? -1 : file.size]))).toEqual(listed);
        } finally {
          rmSync(image, { force: true });
        }
      }),
      { numRuns: 6 },
    );
  });
});
