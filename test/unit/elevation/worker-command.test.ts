import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkexecCommand } from '../../../main/app/elevation/linux.js';
import { devWorkerCommand, elevatedWorkerCommand, packagedWorkerCommand } from '../../../main/app/worker-command.js';
import { AppError } from '../../../shared/errors.js';
import { makeTempDir } from '../../helpers/temp.js';

let temp: ReturnType<typeof makeTempDir>;
let bin: string;
let empty: string;

/** An executable file (a stand-in for node or pkexec: only its existence is looked at here). */
function program(directory: string, name: string): string {
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

beforeAll(() => {
  temp = makeTempDir('apkovl-elevation-');
  bin = path.join(temp.dir, 'bin');
  program(bin, 'node');
  program(bin, 'pkexec');
  empty = path.join(temp.dir, 'empty');
  mkdirSync(empty);
  // Not executable: a look-up must pass over it.
  writeFileSync(path.join(empty, 'pkexec'), '');
});
afterAll(() => temp.cleanup());

describe('devWorkerCommand', () => {
  it('runs the CLI bundle with node found on PATH, as an absolute path', () => {
    expect(devWorkerCommand('/work/app', { env: { PATH: `relative/bin:${empty}:${bin}` }, platform: 'linux' })).toEqual(
      {
        command: path.join(bin, 'node'),
        args: ['/work/app/dist/cli/apkovl.mjs', 'worker'],
        env: {},
      },
    );
  });

  it('takes APKOVL_NODE, by name or by path', () => {
    const other = program(path.join(temp.dir, 'other'), 'node20');
    expect(devWorkerCommand('/a', { env: { PATH: bin, APKOVL_NODE: other }, platform: 'linux' }).command).toBe(other);
    expect(
      devWorkerCommand('/a', { env: { PATH: path.dirname(other), APKOVL_NODE: 'node20' }, platform: 'linux' }).command,
    ).toBe(other);
  });

  it('says what to do when there is no node', () => {
    const attempt = () => devWorkerCommand('/a', { env: { PATH: empty }, platform: 'linux' });
    expect(attempt).toThrow(AppError);
    expect(attempt).toThrow(/Node \(node\) was not found/);
    try {
      attempt();
    } catch (error) {
      expect((error as AppError).hint).toMatch(/APKOVL_NODE/);
    }
  });
});

describe('packagedWorkerCommand', () => {
  it('is the worker program in resources/worker', () => {
    expect(packagedWorkerCommand('/opt/Apkovl Studio/resources', 'linux')).toEqual({
      command: '/opt/Apkovl Studio/resources/worker/apkovl',
      args: ['worker'],
      env: {},
    });
    expect(packagedWorkerCommand('C:\\Program Files\\Apkovl Studio\\resources', 'win32').command).toBe(
      'C:\\Program Files\\Apkovl Studio\\resources\\worker\\apkovl.exe',
    );
    expect(packagedWorkerCommand('/Applications/Apkovl Studio.app/Contents/Resources', 'darwin').command).toBe(
      '/Applications/Apkovl Studio.app/Contents/Resources/worker/apkovl',
    );
  });
});

describe('pkexec', () => {
  it('puts pkexec --disable-internal-agent before the absolute worker and drops env', () => {
    expect(
      pkexecCommand('/usr/bin/pkexec', { command: '/opt/x/worker/apkovl', args: ['worker'], env: { A: 'b' } }),
    ).toEqual({
      command: '/usr/bin/pkexec',
      args: ['--disable-internal-agent', '/opt/x/worker/apkovl', 'worker'],
      env: {},
    });
  });

  it('refuses a worker given by a relative name (pkexec and polkit match absolute paths)', () => {
    expect(() => pkexecCommand('/usr/bin/pkexec', { command: 'apkovl', args: ['worker'], env: {} })).toThrow(
      /absolute path/,
    );
  });

  it('elevates with pkexec found on PATH', async () => {
    const base = { command: '/usr/bin/node', args: ['/app/dist/cli/apkovl.mjs', 'worker'], env: {} };
    const elevated = await elevatedWorkerCommand(base, { platform: 'linux', env: { PATH: `${empty}:${bin}` } });
    expect(elevated).toMatchObject({
      command: path.join(bin, 'pkexec'),
      args: ['--disable-internal-agent', '/usr/bin/node', '/app/dist/cli/apkovl.mjs', 'worker'],
      elevated: true,
      method: 'pkexec',
    });
    await elevated.cleanup();
  });

  it('says what to do when pkexec is missing', async () => {
    const base = { command: '/usr/bin/node', args: ['worker'], env: {} };
    const failure = await elevatedWorkerCommand(base, { platform: 'linux', env: { PATH: empty } }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AppError);
    expect((failure as AppError).message).toMatch(/pkexec \(polkit\) is not installed/);
    expect((failure as AppError).hint).toMatch(/sudo apkovl build --device/);
  });
});
