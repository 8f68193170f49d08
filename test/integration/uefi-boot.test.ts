import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../main/services/image/build-image.js';
import { createSyntheticIso } from '../helpers/synthetic-iso.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { missing } from '../helpers/requirements.js';

/**
 * An x86_64 stick booted by real UEFI firmware: OVMF (EDK2) under QEMU, the stick attached as a
 * removable USB mass-storage device, and a real GRUB EFI image whose embedded configuration
 * searches for the ISO's volume label, as Alpine's does. Passing means the firmware found
 * EFI/BOOT/BOOTX64.EFI on our type 0x0C FAT32 partition, and GRUB, after its label search
 * failed, read boot/grub/grub.cfg and the apkovl from the stick.
 */
const OVMF = ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd'].find((file) => existsSync(file));
const haveTools =
  OVMF !== undefined &&
  spawnSync('qemu-system-x86_64', ['--version']).status === 0 &&
  spawnSync('grub-mkimage', ['--version']).status === 0 &&
  existsSync('/usr/lib/grub/x86_64-efi/fat.mod');

describe.skipIf(
  missing(
    haveTools,
    'qemu-system-x86_64, OVMF and GRUB EFI (Debian packages qemu-system-x86, ovmf, grub-efi-amd64-bin)',
  ),
)('an x86_64 stick under UEFI firmware (QEMU + OVMF; needs qemu-system-x86, ovmf, grub-efi-amd64-bin)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    temp = makeTempDir();
  });
  afterAll(() => temp.cleanup());

  it('boots: the firmware starts GRUB from the stick, which reads its grub.cfg and sees the apkovl', async () => {
    const early = path.join(temp.dir, 'early.cfg');
    writeFileSync(
      early,
      'search --no-floppy --set=root --label "alpine-std 3.22.2 x86_64"\nset prefix=($root)/boot/grub\n',
    );
    const loader = path.join(temp.dir, 'bootx64.efi');
    const modules = [
      'part_msdos',
      'part_gpt',
      'fat',
      'normal',
      'configfile',
      'echo',
      'search',
      'search_label',
      'serial',
      'terminal',
      'halt',
      'test',
      'true',
    ];
    execFileSync('grub-mkimage', ['-O', 'x86_64-efi', '-o', loader, '-p', '/boot/grub', '-c', early, ...modules]);
    const grubConfig = [
      'serial --unit=0 --speed=115200',
      'terminal_output serial console',
      'echo "APKOVL-UEFI: grub.cfg read from the stick"',
      'if [ -f /edge-1.apkovl.tar.gz ]; then echo "APKOVL-UEFI: apkovl found"; fi',
      'if [ -f /boot/modloop-lts ]; then echo "APKOVL-UEFI: modloop found"; fi',
      'halt',
      '',
    ].join('\n');
    const iso = createSyntheticIso({ dir: temp.dir, scale: 0.01, bootloader: readFileSync(loader), grubConfig });
    const stick = path.join(temp.dir, 'stick.img');
    await buildImage({
      bootMedia: iso.iso,
      overlay: createOverlay(temp.dir, 'edge-1'),
      output: stick,
      partitionBytes: 64 << 20,
    });

    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-machine',
        'q35',
        '-m',
        '256',
        '-nographic',
        '-no-reboot',
        '-bios',
        OVMF as string,
        '-drive',
        `file=${stick},format=raw,if=none,id=stick`,
        '-device',
        'qemu-xhci',
        '-device',
        'usb-storage,drive=stick,removable=on',
        '-net',
        'none',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    qemu.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    qemu.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        qemu.kill('SIGKILL');
        resolve(false);
      }, 150_000);
      qemu.on('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(output).toMatch(/APKOVL-UEFI: grub\.cfg read from the stick/);
    expect(output).toMatch(/APKOVL-UEFI: apkovl found/);
    expect(output).toMatch(/APKOVL-UEFI: modloop found/);
    expect(finished).toBe(true); // GRUB's halt powered the machine off
  }, 180_000);
});
