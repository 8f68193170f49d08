import { spawnSync } from 'node:child_process';
import { describe, it } from 'vitest';

/**
 * Suites that need a tool of the machine (QEMU, Chromium, losetup as root, ...) skip where it is
 * missing, saying why in their name. Under CI (`CI=true`) a missing tool is a broken install
 * step, not a reason: there the suite is replaced by a failing test that names what is missing.
 *
 *   describe.skipIf(missing(haveQemu, 'qemu-system-x86_64 (Debian package qemu-system-x86)'))(...)
 */
export function missing(available: boolean, what: string): boolean {
  if (available) return false;
  if (process.env.CI === 'true') {
    describe(`required under CI=true: ${what}`, () => {
      it('is installed', () => {
        throw new Error(`${what} is missing; .ci/run must install it (CI=true turns this skip into a failure)`);
      });
    });
  }
  return true;
}

/** Whether a command runs at all (its exit status does not matter). */
export function haveCommand(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).error === undefined;
}

/** Root with losetup: real loop devices can stand in for cards. */
export const haveLoopDevices = process.getuid?.() === 0 && haveCommand('losetup');
