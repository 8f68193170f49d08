import { describe, expect, it } from 'vitest';
import { netbootAppend, qemuCommand, type QemuPlan } from '../../../main/services/try/qemu-command.js';
import { biosRefusal } from '../../../main/services/try/disk-image.js';
import { findOvmf, slowWarning } from '../../../main/services/try/qemu-host.js';
import { mediaKind, releaseFileName } from '../../../main/services/releases/catalog.js';

const image: QemuPlan = {
  arch: 'x86_64',
  boot: { kind: 'disk', image: '/cards/kiosk.img', bus: 'usb' },
  firmware: { kind: 'bios-file', file: '/usr/share/ovmf/OVMF.fd' },
  memoryMiB: 1024,
  cpus: 2,
  display: false,
  kvm: true,
  network: { mac: '52:54:00:a0:0b:01' },
};

/** The value after each occurrence of `flag`. */
const values = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []));

describe('qemuCommand', () => {
  it('boots an image as a USB stick in snapshot mode under OVMF, with KVM falling back to TCG', () => {
    const { program, args } = qemuCommand(image);
    expect(program).toBe('qemu-system-x86_64');
    expect(values(args, '-accel')).toEqual(['kvm', 'tcg']);
    expect(values(args, '-bios')).toEqual(['/usr/share/ovmf/OVMF.fd']);
    expect(values(args, '-device')).toEqual(['qemu-xhci,id=xhci', 'usb-storage,bus=xhci.0,drive=stick,bootindex=0']);
    expect(values(args, '-drive')).toEqual(['file=/cards/kiosk.img,format=raw,if=none,id=stick,snapshot=on']);
    expect(values(args, '-m')).toEqual(['1024']);
    expect(args).toContain('-nographic');
    expect(args).not.toContain('-kernel');
  });

  it('attaches a virtio disk with --disk virtio, and doubles commas in file names', () => {
    const { args } = qemuCommand({ ...image, boot: { kind: 'disk', image: '/a,b/kiosk.img', bus: 'virtio' } });
    expect(values(args, '-drive')).toEqual(['file=/a,,b/kiosk.img,format=raw,if=virtio,snapshot=on']);
    expect(values(args, '-device')).toEqual([]);
  });

  it('uses SeaBIOS (no firmware argument) for --bios, and split OVMF as pflash', () => {
    expect(qemuCommand({ ...image, firmware: null }).args.join(' ')).not.toMatch(/-bios|pflash/);
    const { args } = qemuCommand({
      ...image,
      firmware: { kind: 'pflash', code: '/f/CODE.fd', vars: '/tmp/x/VARS.fd' },
    });
    expect(values(args, '-drive')).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/f/CODE.fd');
    expect(values(args, '-drive')).toContain('if=pflash,format=raw,unit=1,file=/tmp/x/VARS.fd');
  });

  it('opens a window with --display and keeps the serial console on the terminal', () => {
    const { args } = qemuCommand({ ...image, display: true });
    expect(args).not.toContain('-nographic');
    expect(values(args, '-serial')).toEqual(['mon:stdio']);
    expect(values(args, '-vga')).toEqual(['std']);
  });

  it('emulates without KVM and sets memory and the NIC MAC', () => {
    const { args } = qemuCommand({ ...image, kvm: false, memoryMiB: 2048, network: { mac: '52:54:00:00:00:0b' } });
    expect(values(args, '-accel')).toEqual(['tcg']);
    expect(values(args, '-m')).toEqual(['2048']);
    expect(values(args, '-nic')).toEqual(['user,model=virtio-net-pci,mac=52:54:00:00:00:0b']);
  });

  it('netboots aarch64 on the virt machine with -kernel/-initrd/-append and no firmware', () => {
    const append = netbootAppend({
      arch: 'aarch64',
      apkovlUrl: 'http://10.0.2.2:4321/{MAC}.apkovl.tar.gz',
      modloopUrl: 'http://10.0.2.2:4321/modloop-virt',
      repositories: ['https://m/alpine/v3.22/main', 'https://m/alpine/v3.22/community'],
      display: false,
    });
    expect(append).toBe(
      'modules=loop,squashfs ip=dhcp apkovl=http://10.0.2.2:4321/{MAC}.apkovl.tar.gz ' +
        'modloop=http://10.0.2.2:4321/modloop-virt ' +
        'alpine_repo=https://m/alpine/v3.22/main,https://m/alpine/v3.22/community console=ttyAMA0',
    );
    const { program, args } = qemuCommand({
      ...image,
      arch: 'aarch64',
      firmware: null,
      kvm: false,
      boot: { kind: 'kernel', kernel: '/c/vmlinuz-virt', initrd: '/c/initramfs-virt', append },
    });
    expect(program).toBe('qemu-system-aarch64');
    expect(values(args, '-machine')).toEqual(['virt']);
    expect(values(args, '-kernel')).toEqual(['/c/vmlinuz-virt']);
    expect(values(args, '-initrd')).toEqual(['/c/initramfs-virt']);
    expect(values(args, '-append')).toEqual([append]);
    expect(args).not.toContain('-bios');
  });

  it('puts the window last among the consoles with --display', () => {
    const append = netbootAppend({ arch: 'x86_64', apkovlUrl: 'u', modloopUrl: null, repositories: [], display: true });
    expect(append).toBe('modules=loop,squashfs ip=dhcp apkovl=u console=ttyS0 console=tty0');
  });

  it('refuses an aarch64 disk image', () => {
    expect(() => qemuCommand({ ...image, arch: 'aarch64' })).toThrow(/netboot/);
  });
});

describe('apkovl try host checks', () => {
  it('refuses --bios for a UEFI-only stick, saying why', () => {
    expect(biosRefusal('bios-uefi', 'a.img')).toBeNull();
    const refusal = biosRefusal('uefi', 'a.img');
    expect(refusal?.message).toMatch(/UEFI-only stick .*no ISO partition of type 0x17.*SeaBIOS cannot boot/);
    expect(refusal?.location).toBe('--bios');
  });

  it('finds OVMF unified first, then code + variables', () => {
    expect(findOvmf((file) => file === '/usr/share/OVMF/OVMF.fd')).toEqual({
      kind: 'bios-file',
      file: '/usr/share/OVMF/OVMF.fd',
    });
    expect(findOvmf((file) => file.startsWith('/usr/share/edk2/ovmf/'))).toEqual({
      kind: 'pflash',
      code: '/usr/share/edk2/ovmf/OVMF_CODE.fd',
      vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd',
    });
    expect(findOvmf(() => false)).toBeNull();
  });

  it('says emulation of aarch64 is slow', () => {
    expect(slowWarning('aarch64', 'aarch64 is emulated on this x86_64 machine')).toMatch(/several minutes/);
  });
});

describe('netboot media', () => {
  it('picks alpine-netboot-<version>-<arch>.tar.gz whatever the board', () => {
    expect(mediaKind({ board: 'rpi', arch: 'aarch64', media: 'netboot' })).toEqual({
      flavor: 'alpine-netboot',
      suffix: '.tar.gz',
    });
    expect(releaseFileName({ board: 'x86_64', arch: 'x86_64', media: 'netboot' }, '3.22.2')).toBe(
      'alpine-netboot-3.22.2-x86_64.tar.gz',
    );
    expect(mediaKind({ board: 'rpi', arch: 'aarch64' }).flavor).toBe('alpine-rpi');
  });
});
