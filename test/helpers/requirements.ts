import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
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

/** What a suite needs from the machine. */
export interface Requirements {
  /** Programs that must be on PATH (losetup, mkfs.ext4, ...). */
  tools?: string[];
  /** Must run as root (loop devices, mount). */
  root?: boolean;
  /** Must run on Linux (sysfs, /proc). */
  linux?: boolean;
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((folder) => {
    try {
      accessSync(path.join(folder, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why a suite cannot run here, one phrase each; empty when it can. */
export function missingRequirements({ tools = [], root = false, linux = false }: Requirements): string[] {
  const missing: string[] = [];
  if (linux && process.platform !== 'linux') missing.push(`Linux (this is ${process.platform})`);
  if (root && process.getuid?.() !== 0) missing.push('root');
  const absent = tools.filter((tool) => !onPath(tool));
  if (absent.length > 0) missing.push(`${absent.join(', ')} on PATH`);
  return missing;
}

/**
 * `describe` for a suite that needs tools or root. Where they are missing it is skipped, and its
 * title says why ("... (skipped: needs root, losetup on PATH)"). Under `CI=true` a missing
 * requirement is a failure instead: CI installs everything, so a skip there is a broken set-up
 * that would otherwise pass in silence.
 */
export function describeRequiring(title: string, requirements: Requirements, body: () => void): void {
  const missing = missingRequirements(requirements);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const needs = `needs ${missing.join(', ')}`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('has what it needs to run (CI=true: a missing requirement fails)', () => {
        throw new Error(`${title}: ${needs}; CI must provide it (see .ci/run)`);
      });
    });
    return;
  }
  describe.skip(`${title} (skipped: ${needs})`, body);
}
