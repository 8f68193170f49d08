import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Validation with tools nobody in this project wrote: sfdisk, fsck.fat, mtools, 7z. */

export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
}

export function sfdiskJson(image: string): { label: string; id: string; partitions: SfdiskPartition[] } {
  const output = execFileSync('sfdisk', ['--json', image], { encoding: 'utf8' });
  return (JSON.parse(output) as { partitiontable: { label: string; id: string; partitions: SfdiskPartition[] } })
    .partitiontable;
}

function canUseLoop(): boolean {
  return process.getuid?.() === 0 && spawnSync('losetup', ['--version']).status === 0;
}

/**
 * Run fsck.fat -n (check only, never repair) on the partition at `offset` of `image`, through
 * a read-only loop device when possible (no copy, works for huge sparse images), else on a copy.
 * Returns fsck's exit status and output.
 */
export function fsckFat(image: string, offset: number, size: number): { status: number; output: string } {
  if (canUseLoop()) {
    const device = execFileSync(
      'losetup',
      ['--find', '--show', '--read-only', '--offset', String(offset), '--sizelimit', String(size), image],
      {
        encoding: 'utf8',
      },
    ).trim();
    try {
      const result = spawnSync('fsck.fat', ['-n', '-v', device], { encoding: 'utf8', maxBuffer: 64 << 20 });
      return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
    } finally {
      execFileSync('losetup', ['--detach', device]);
    }
  }
  const copy = `${image}.partition`;
  execFileSync('dd', [
    `if=${image}`,
    `of=${copy}`,
    'bs=1M',
    `skip=${offset}`,
    `count=${size}`,
    'iflag=skip_bytes,count_bytes',
    'conv=sparse',
    'status=none',
  ]);
  try {
    const result = spawnSync('fsck.fat', ['-n', '-v', copy], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
  } finally {
    execFileSync('rm', ['-f', copy]);
  }
}

/** Run an mtools command on the FAT partition at 1 MiB of `image`. */
function mtools(command: string, image: string, args: string[]): Buffer {
  return execFileSync(command, ['-i', `${image}@@1M`, ...args], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
    maxBuffer: 1 << 28,
  });
}

/** One file of the partition, read by mtype. */
export function mtoolsRead(image: string, name: string): Buffer {
  return mtools('mtype', image, [`::/${name}`]);
}

/** The partition's volume label, read by mlabel. */
export function mtoolsLabel(image: string): string {
  return mtools('mlabel', image, ['-s', '::']).toString('utf8');
}

/** mdir's recursive bare listing of the partition, as printed. */
export function mtoolsListing(image: string): string {
  return mtools('mdir', image, ['-/', '-b', '-a', '::']).toString('utf8');
}

/** Every path mtools sees on the FAT partition at 1 MiB (files and folders). */
export function mtoolsPaths(image: string): string[] {
  return mtoolsListing(image)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('::/'))
    .map((line) => line.slice(3).replace(/\/$/, ''));
}

/** Copy everything off the partition with mcopy and hash each file: path -> sha256. */
export function mtoolsExtract(image: string, destination: string): Map<string, string> {
  mtools('mcopy', image, ['-s', '-n', '-m', '::/*', destination]);
  const files = new Map<string, string>();
  const walk = (directory: string, prefix: string): void => {
    for (const name of readdirSync(directory)) {
      const full = path.join(directory, name);
      const media = prefix === '' ? name : `${prefix}/${name}`;
      if (statSync(full).isDirectory()) walk(full, media);
      else files.set(media, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(destination, '');
  return files;
}

/** 7-Zip's listing of the image (it reads the MBR and the FAT itself): path -> size. */
export function sevenZipList(image: string): Map<string, number> {
  const output = execFileSync('7z', ['l', '-slt', '-ba', image], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const files = new Map<string, number>();
  for (const block of output.split(/\n\s*\n/)) {
    const pathLine = /^Path = (.*)$/m.exec(block);
    const sizeLine = /^Size = (\d+)$/m.exec(block);
    const folder = /^Folder = \+$/m.test(block) || /^Attributes = D/m.test(block);
    if (pathLine?.[1] && sizeLine?.[1] && !folder) files.set(pathLine[1], Number(sizeLine[1]));
  }
  return files;
}
