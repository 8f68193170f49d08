import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unpackNetboot } from '../../../main/services/try/netboot-files.js';
import { makeTempDir } from '../../helpers/temp.js';

describe('unpackNetboot', () => {
  let temp: ReturnType<typeof makeTempDir> | null = null;
  afterEach(() => temp?.cleanup());

  const tarball = (dir: string, names: string[]) => {
    mkdirSync(path.join(dir, 'tree', 'boot'), { recursive: true });
    for (const name of names) writeFileSync(path.join(dir, 'tree', 'boot', name), `content of ${name}\n`);
    const file = path.join(dir, 'alpine-netboot-3.22.2-x86_64.tar.gz');
    execFileSync('tar', ['-C', path.join(dir, 'tree'), '-czf', file, 'boot']);
    return file;
  };

  it('unpacks the virt kernel, initramfs and modloop into a cache folder named after the SHA-256', async () => {
    temp = makeTempDir();
    const file = tarball(temp.dir, ['vmlinuz-lts', 'vmlinuz-virt', 'initramfs-virt', 'modloop-virt', 'config-virt']);
    const cacheDir = path.join(temp.dir, 'cache');
    const files = await unpackNetboot({ tarball: file, sha256: 'ab'.repeat(32), cacheDir });
    expect(files.kernel).toBe(path.join(cacheDir, 'netboot', 'ab'.repeat(32), 'vmlinuz-virt'));
    expect(readFileSync(files.kernel, 'utf8')).toBe('content of vmlinuz-virt\n');
    expect(readFileSync(files.initrd, 'utf8')).toBe('content of initramfs-virt\n');
    expect(readFileSync(files.modloop ?? '', 'utf8')).toBe('content of modloop-virt\n');
  });

  it('names what a tarball lacks', async () => {
    temp = makeTempDir();
    const file = tarball(temp.dir, ['vmlinuz-virt']);
    await expect(unpackNetboot({ tarball: file, sha256: 'cd'.repeat(32), cacheDir: temp.dir })).rejects.toThrow(
      /has no boot\/initramfs-virt, boot\/modloop-virt/,
    );
  });
});
