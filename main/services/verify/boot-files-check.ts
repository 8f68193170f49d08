import type { VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import type { CardReader } from './card-reader.js';
import { count, makeCheck, problem } from './checks.js';

const TITLE = 'Boot files';
const rewrite = 'write the card again (apkovl build), or copy the file back from the boot media';

/** Files the boot loader's configuration names: `kernel=` and `initramfs` in config.txt. */
export function piConfigFiles(config: string): string[] {
  const names: string[] = [];
  for (const raw of config.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const kernel = /^kernel\s*=\s*(\S+)/.exec(line);
    const initramfs = /^initramfs\s+(\S+)/.exec(line);
    const name = kernel?.[1] ?? initramfs?.[1];
    if (name !== undefined) names.push(name.replace(/^\/+/, ''));
  }
  return names;
}

/** Files GRUB's configuration loads: the paths of `linux` and `initrd` lines. */
export function grubConfigFiles(config: string): string[] {
  const names: string[] = [];
  for (const raw of config.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (words[0] === 'linux' && words[1] !== undefined) names.push(words[1]);
    if (words[0] === 'initrd') names.push(...words.slice(1));
  }
  return names.map((name) => name.replace(/^\/+/, ''));
}

/**
 * What the boot chain needs to find on the card: for a Raspberry Pi config.txt with the kernel
 * and initramfs it names and a one-line cmdline.txt; for a UEFI stick EFI/BOOT/BOOTX64.EFI and
 * GRUB's configuration with the files it loads; for both the boot repository (apks/).
 */
export async function checkBootFiles(card: CardReader, iso: CardReader | null = null): Promise<VerifyCheck> {
  const problems: VerifyProblem[] = [];
  const present: string[] = [];
  // A BIOS+UEFI stick: the EFI loader on the FAT partition, everything else in the ISO.
  const where = (path: string): CardReader => (iso !== null && !/^EFI\//i.test(path) ? iso : card);
  const need = (path: string, why: string): boolean => {
    const file = where(path).find(path);
    if (file !== null && !file.isDirectory) {
      present.push(path);
      return true;
    }
    const place = iso !== null && where(path) === iso ? ' from the ISO partition' : '';
    problems.push(
      problem('fault', `${displayText(path)} is missing${place}: ${why}`, { paths: [path], hint: rewrite }),
    );
    return false;
  };
  const text = async (path: string): Promise<string> => {
    const reader = where(path);
    const file = reader.find(path);
    const data = file === null ? null : await reader.readSmall(file, 64 * 1024).catch(() => null);
    return data === null ? '' : data.toString('utf8');
  };

  const pi = card.find('config.txt') !== null;
  const uefi = card.find('EFI/BOOT/BOOTX64.EFI') !== null;
  if (pi) {
    need('config.txt', 'the Raspberry Pi firmware reads it to find the kernel');
    for (const name of piConfigFiles(await text('config.txt'))) need(name, 'config.txt names it');
    if (need('cmdline.txt', 'the kernel gets no parameters')) {
      const lines = (await text('cmdline.txt')).replace(/\r?\n+$/, '').split(/\r?\n/);
      if (lines.length > 1) {
        problems.push(
          problem('fault', 'cmdline.txt has more than one line: the kernel reads only the first', {
            paths: ['cmdline.txt'],
            hint: 'put every kernel parameter on the one line',
          }),
        );
      }
      if (/(^|\s)root=/.test(lines[0] ?? '')) {
        problems.push(
          problem('fault', 'cmdline.txt sets root=: the machine would not boot diskless', {
            paths: ['cmdline.txt'],
            hint: 'remove root= from cmdline.txt',
          }),
        );
      }
    }
  } else if (uefi) {
    need('EFI/BOOT/BOOTX64.EFI', 'UEFI firmware starts it');
    if (need('boot/grub/grub.cfg', 'GRUB reads it to find the kernel')) {
      for (const name of grubConfigFiles(await text('boot/grub/grub.cfg'))) need(name, 'grub.cfg loads it');
    }
  } else {
    problems.push(
      problem('fault', 'no boot loader: neither config.txt (Raspberry Pi) nor EFI/BOOT/BOOTX64.EFI (UEFI)', {
        hint: rewrite,
      }),
    );
  }
  need('apks/.boot_repository', "the initramfs finds the card's package repository by it");
  return makeCheck('boot-files', TITLE, {
    summary: `${pi ? 'Raspberry Pi' : uefi ? (iso !== null ? 'UEFI (GRUB reads the ISO partition)' : 'UEFI') : 'unknown'} boot chain: ${count(present.length, 'needed file')} present`,
    problems,
  });
}
