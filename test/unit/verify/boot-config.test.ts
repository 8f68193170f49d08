import { describe, expect, it } from 'vitest';
import { grubConfigFiles, piConfigFiles } from '../../../main/services/verify/boot-files-check.js';
import { appendedParameters } from '../../../main/services/verify/media-compare.js';

describe('boot configurations', () => {
  it("reads the files a Raspberry Pi's config.txt names", () => {
    const config =
      '# do not modify\nkernel=boot/vmlinuz-rpi\ninitramfs boot/initramfs-rpi\narm_64bit=1\ninclude usercfg.txt\n' +
      '[pi2]\nkernel = /boot/vmlinuz-rpi2 # old\n#kernel=boot/commented-out\n';
    expect(piConfigFiles(config)).toEqual(['boot/vmlinuz-rpi', 'boot/initramfs-rpi', 'boot/vmlinuz-rpi2']);
  });

  it('reads the files GRUB loads: linux and initrd paths', () => {
    const config =
      'set timeout=1\nmenuentry "Linux lts" {\nlinux\t/boot/vmlinuz-lts modules=loop quiet\ninitrd\t/boot/intel-ucode.img /boot/initramfs-lts\n}\n';
    expect(grubConfigFiles(config)).toEqual(['boot/vmlinuz-lts', 'boot/intel-ucode.img', 'boot/initramfs-lts']);
  });

  it('tells a kernel command line the builder extended from one changed otherwise', () => {
    const media = 'modules=loop,squashfs,sd-mod,usb-storage quiet console=tty1\n';
    expect(appendedParameters('cmdline.txt', media, media.replace('\n', ' usbdelay=5 consoleblank=0\n'))).toEqual([
      'usbdelay=5',
      'consoleblank=0',
    ]);
    expect(appendedParameters('cmdline.txt', media, media.replace('quiet', 'debug'))).toBeNull();
    expect(appendedParameters('cmdline.txt', media, `${media}second line\n`)).toBeNull();
    const grub = 'menuentry "Linux lts" {\nlinux\t/boot/vmlinuz-lts quiet\ninitrd\t/boot/initramfs-lts\n}\n';
    expect(appendedParameters('boot/grub/grub.cfg', grub, grub.replace('quiet', 'quiet usbdelay=5'))).toEqual([
      'usbdelay=5',
    ]);
    expect(appendedParameters('config.txt', media, `${media} x`)).toBeNull();
  });
});
