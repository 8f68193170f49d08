import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepOnStick, stickPath } from '../../main/services/boot-media/iso-source.js';
import { openIso, type IsoNode } from '../../main/services/boot-media/iso9660.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { readCardFiles } from '../helpers/card-reader.js';
import { fsckFat, mtoolsPaths, mtoolsRead, sfdiskJson } from '../helpers/external-tools.js';
import { createSyntheticIso, type SyntheticIso } from '../helpers/synthetic-iso.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
let temp: ReturnType<typeof makeTempDir>;
let iso: SyntheticIso;

beforeAll(() => {
  temp = makeTempDir();
  iso = createSyntheticIso({ dir: temp.dir });
});
afterAll(() => temp.cleanup());

async function listIso(file: string): Promise<{ naming: string; files: Map<string, string> }> {
  const image = await openIso(file);
  const files = new Map<string, string>();
  const walk = async (node: IsoNode, prefix: string): Promise<void> => {
    for (const child of node.children) {
      const member = prefix === '' ? child.name : `${prefix}/${child.name}`;
      if (child.isDirectory) await walk(child, member);
      else
        files.set(
          member,
          createHash('sha256')
            .update(await image.readRange(child.extent * 2048, child.size))
            .digest('hex'),
        );
    }
  };
  await walk(image.root, '');
  await image.close();
  return { naming: image.naming, files };
}

describe('ISO 9660 reader', () => {
  it('reads Rock Ridge names and every file of an image xorriso made', async () => {
    const { naming, files } = await listIso(iso.iso);
    expect(naming).toBe('rock-ridge');
    expect(files).toEqual(iso.files);
  });

  it('falls back to Joliet names without Rock Ridge', async () => {
    const joliet = createSyntheticIso({ dir: path.join(temp.dir, 'joliet'), naming: 'joliet', scale: 0.01 });
    const { naming, files } = await listIso(joliet.iso);
    expect(naming).toBe('joliet');
    expect(files).toEqual(joliet.files);
  });

  it('reads plain ISO 9660 names when there is nothing else', async () => {
    const plain = createSyntheticIso({ dir: path.join(temp.dir, 'plain'), naming: 'iso9660', scale: 0.01 });
    const { naming, files } = await listIso(plain.iso);
    expect(naming).toBe('iso9660');
    expect(files.size).toBe(plain.files.size);
    // d-characters only: upper case, digits and _, as mkisofs maps them.
    expect([...files.keys()]).toContain('BOOT/VMLINUZ_LTS');
  });

  it('refuses a file that is not an ISO', async () => {
    await expect(openIso(path.join(temp.dir, 'iso-tree', 'boot', 'grub', 'grub.cfg'))).rejects.toThrow(
      /truncated|CD001/,
    );
  });
});

describe('x86_64 UEFI stick from the ISO', () => {
  it('holds what UEFI boot needs, in the FAT32 that fsck.fat, mtools and sfdisk accept', async () => {
    const output = path.join(temp.dir, 'stick.img');
    const overlay = createOverlay(temp.dir, 'edge-1');
    const summary = await buildImage({
      bootMedia: iso.iso,
      overlay,
      output,
      partitionBytes: 256 * MiB,
      cmdlineAppend: ['usbdelay=5'],
    });
    expect(summary).toMatchObject({
      alpineRelease: 'alpine-standard-3.22.2 251009',
      overlay: { fileName: 'edge-1.apkovl.tar.gz' },
    });
    expect(sfdiskJson(output).partitions[0]).toMatchObject({ start: 2048, type: 'c', bootable: true });
    expect(fsckFat(output, MiB, 256 * MiB).status).toBe(0);
    const paths = mtoolsPaths(output);
    expect(paths).toContain('EFI/BOOT/BOOTX64.EFI');
    expect(paths).toContain('boot/grub/grub.cfg');
    expect(paths).toContain('apks/.boot_repository');
    expect(paths).not.toContain('boot/syslinux');
    expect(paths).not.toContain('boot/grub/efi.img');
    const { files } = await readCardFiles(output);
    for (const [member, hash] of iso.files) {
      if (!keepOnStick(member) || member === 'boot/grub/grub.cfg') continue;
      expect(files.get(stickPath(member)), member).toBe(hash);
    }
    const grub = mtoolsRead(output, 'boot/grub/grub.cfg').toString('utf8');
    expect(grub).toMatch(/^linux\t\/boot\/vmlinuz-lts modules=loop,squashfs,sd-mod,usb-storage quiet usbdelay=5$/m);
  });
});

describe('ISO symbolic links', () => {
  it('follows a link inside the image and refuses one that leaves it, as a media error', async () => {
    const dir = path.join(temp.dir, 'links');
    mkdirSync(dir);
    const linked = createSyntheticIso({
      dir,
      symlinks: { 'boot/vmlinuz-current': 'vmlinuz-lts', 'boot/modloop-evil': '../../../etc/shadow' },
    });
    const error = await buildImage({
      bootMedia: linked.iso,
      overlay: createOverlay(dir, 'edge-1'),
      output: path.join(dir, 'stick.img'),
      partitionBytes: 64 * MiB,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'invalid-media',
      message: expect.stringMatching(/symbolic link "boot\/modloop-evil" is refused: .*outside the media/),
      location: `${linked.iso}, boot/modloop-evil`,
    });

    const inside = path.join(temp.dir, 'inside');
    mkdirSync(inside);
    const good = createSyntheticIso({ dir: inside, symlinks: { 'boot/vmlinuz-current': 'vmlinuz-lts' } });
    const output = path.join(inside, 'stick.img');
    await buildImage({
      bootMedia: good.iso,
      overlay: createOverlay(inside, 'edge-1'),
      output,
      partitionBytes: 64 * MiB,
    });
    const { files } = await readCardFiles(output);
    expect(files.get('boot/vmlinuz-current')).toBeDefined();
    expect(files.get('boot/vmlinuz-current')).toEqual(files.get('boot/vmlinuz-lts'));
  });
});
