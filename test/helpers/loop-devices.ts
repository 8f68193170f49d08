import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

/**
 * Real block devices for tests: loop devices over files in a temporary folder. Devices are
 * always found with `losetup -f --show` (other suites use loop devices at the same time) and
 * every device attached here is detached by `detachAll()`, which the suites call in afterAll.
 */

/** Why loop devices cannot be used here, or null when they can. */
export function loopDevicesUnavailable(): string | null {
  if (process.platform !== 'linux') return `loop devices are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'attaching loop devices needs root';
  if (spawnSync('losetup', ['--version']).status !== 0) return 'losetup is not installed (Debian package mount)';
  if (spawnSync('losetup', ['--find']).status !== 0) return 'no free loop device (losetup --find failed)';
  return null;
}

/**
 * `describe` for suites that need loop devices: skipped with the reason where there are none,
 * except under CI=true, where the suite fails instead, so that a missing tool shows as red.
 */
export function describeWithLoopDevices(name: string, suite: () => void): void {
  const reason = loopDevicesUnavailable();
  if (reason === null) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has loop devices', () => {
        throw new Error(`CI=true but ${reason}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${reason})`, suite);
  }
}

export class LoopDevices {
  private readonly attached = new Set<string>();

  /** Attach `file` to a free loop device; its path, e.g. /dev/loop3. */
  attach(file: string): string {
    const device = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
    this.attached.add(device);
    return device;
  }

  /** Detach `device` and attach it straight away to `file`: the same path, another medium. */
  reattach(device: string, file: string): void {
    execFileSync('losetup', ['--detach', device]);
    this.attached.delete(device);
    // Another suite may take the free device in between: then this test cannot run as meant.
    const result = spawnSync('losetup', [device, file], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`could not re-attach ${device} to ${file}: ${result.stderr}`);
    this.attached.add(device);
  }

  /** Make the kernel read the backing file's size again (`losetup -c`). */
  refreshSize(device: string): void {
    execFileSync('losetup', ['--set-capacity', device]);
  }

  detach(device: string): void {
    if (!this.attached.delete(device)) return;
    execFileSync('losetup', ['--detach', device]);
  }

  detachAll(): void {
    const failures: string[] = [];
    for (const device of [...this.attached]) {
      try {
        this.detach(device);
      } catch (error) {
        failures.push(`${device}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`could not detach ${failures.join('; ')}`);
  }
}

/** Bytes the device has written since it was attached (the 7th field of its stat, in 512-byte sectors). */
export function bytesWrittenBy(device: string): number {
  const fields = readFileSync(path.join('/sys/block', path.basename(device), 'stat'), 'utf8')
    .trim()
    .split(/\s+/);
  return Number(fields[6]) * 512;
}

/** Write back and drop the device's page cache (`blockdev --flushbufs`). */
export function dropDeviceCache(device: string): void {
  execFileSync('blockdev', ['--flushbufs', device]);
}

/** `sfdisk --dump` of the device, or null with sfdisk's complaint when it finds no partition table. */
export function sfdiskDump(device: string): { dump: string | null; error: string } {
  const result = spawnSync('sfdisk', ['--dump', device], { encoding: 'utf8' });
  return result.status === 0 ? { dump: result.stdout, error: '' } : { dump: null, error: result.stderr };
}
