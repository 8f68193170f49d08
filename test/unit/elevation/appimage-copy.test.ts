import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStaleWorkerCopies, runsFromAppImage } from '../../../main/app/elevation/linux.js';
import { elevatedWorkerCommand, packagedWorkerCommand } from '../../../main/app/worker-command.js';
import { makeTempDir } from '../../helpers/temp.js';

let temp: ReturnType<typeof makeTempDir>;
let mount: string;
let copies: string;
const pathLookup = (name: string) => (name === 'pkexec' ? '/usr/bin/pkexec' : null);

beforeAll(() => {
  temp = makeTempDir('apkovl-appimage-');
  // A fake AppImage mount: what electron-builder puts in resources/worker.
  mount = path.join(temp.dir, '.mount_ApkovlXYZ');
  const worker = path.join(mount, 'resources', 'worker');
  mkdirSync(path.join(worker, 'lib', 'node_modules', 'drivelist', 'build', 'Release'), { recursive: true });
  writeFileSync(path.join(worker, 'apkovl'), 'worker binary');
  writeFileSync(path.join(worker, 'package.json'), '{"name":"apkovl-studio","version":"1.2.3"}');
  writeFileSync(path.join(worker, 'lib', 'node_modules', 'drivelist', 'build', 'Release', 'drivelist.node'), 'native');
  copies = path.join(temp.dir, 'tmp');
  mkdirSync(copies);
});
afterAll(() => temp.cleanup());

describe('elevating from an AppImage (root cannot read the FUSE mount)', () => {
  it('elevates a copy in a fresh 0700 folder, files 0500, and removes it on cleanup', async () => {
    const base = packagedWorkerCommand(path.join(mount, 'resources'), 'linux');
    const env = { APPIMAGE: path.join(temp.dir, 'Apkovl.AppImage'), APPDIR: mount };
    const elevated = await elevatedWorkerCommand(base, { platform: 'linux', env, tempDir: copies, pathLookup });
    expect(elevated.command).toBe('/usr/bin/pkexec');
    expect(elevated.args[0]).toBe('--disable-internal-agent');
    const program = elevated.args[1]!;
    expect(elevated.args.slice(2)).toEqual(['worker']);
    const directory = path.dirname(program);
    expect(path.dirname(directory)).toBe(copies);
    expect(path.basename(directory)).toMatch(/^apkovl-worker-/);
    expect(program.startsWith(mount)).toBe(false);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(statSync(program).mode & 0o777).toBe(0o500);
    expect(readFileSync(program, 'utf8')).toBe('worker binary');
    const native = path.join(directory, 'lib', 'node_modules', 'drivelist', 'build', 'Release', 'drivelist.node');
    expect(readFileSync(native, 'utf8')).toBe('native');
    expect(statSync(native).mode & 0o777).toBe(0o500);
    expect(statSync(path.join(directory, 'lib', 'node_modules')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(directory, 'package.json'), 'utf8')).toContain('1.2.3');

    await elevated.cleanup();
    expect(existsSync(directory)).toBe(false);
    await elevated.cleanup(); // twice is harmless
  });

  it('elevates the worker in place when not started from an AppImage', async () => {
    const base = packagedWorkerCommand('/opt/Apkovl Studio/resources', 'linux');
    const elevated = await elevatedWorkerCommand(base, { platform: 'linux', env: {}, tempDir: copies, pathLookup });
    expect(elevated.args).toEqual(['--disable-internal-agent', '/opt/Apkovl Studio/resources/worker/apkovl', 'worker']);
  });

  it('copies only what lies inside the AppImage', () => {
    expect(runsFromAppImage('/tmp/.mount_x/resources/worker/apkovl', { APPDIR: '/tmp/.mount_x' })).toBe(true);
    expect(runsFromAppImage('/usr/bin/node', { APPDIR: '/tmp/.mount_x' })).toBe(false);
    expect(runsFromAppImage('/tmp/.mount_x2/apkovl', { APPDIR: '/tmp/.mount_x' })).toBe(false);
    expect(runsFromAppImage('/anything/apkovl', { APPIMAGE: '/home/u/A.AppImage' })).toBe(true);
    expect(runsFromAppImage('/anything/apkovl', {})).toBe(false);
  });

  it('fails with a message naming the source when the copy cannot be made', async () => {
    const base = { command: path.join(temp.dir, 'missing', 'apkovl'), args: ['worker'], env: {} };
    const failure = await elevatedWorkerCommand(base, {
      platform: 'linux',
      env: { APPIMAGE: '/x.AppImage' },
      tempDir: copies,
      pathLookup,
    }).catch((error: unknown) => error as Error);
    expect((failure as Error).message).toMatch(/could not copy the worker program out of the AppImage/);
  });

  it('removes copies whose app has ended, and only those', async () => {
    const base = packagedWorkerCommand(path.join(mount, 'resources'), 'linux');
    const env = { APPIMAGE: '/x.AppImage' };
    const sweep = path.join(temp.dir, 'sweep');
    mkdirSync(sweep);
    const live = await elevatedWorkerCommand(base, { platform: 'linux', env, tempDir: sweep, pathLookup });
    const dead = await elevatedWorkerCommand(base, { platform: 'linux', env, tempDir: sweep, pathLookup });
    const deadDirectory = path.dirname(dead.args[1]!);
    // An owner that has ended: a child process that has already exited.
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    chmodSync(path.join(deadDirectory, '.apkovl-owner'), 0o600);
    writeFileSync(path.join(deadDirectory, '.apkovl-owner'), `${ended.stdout}\n`);
    mkdirSync(path.join(sweep, 'apkovl-worker-foreign')); // no owner file: not touched
    expect(await removeStaleWorkerCopies(sweep)).toEqual([deadDirectory]);
    expect(existsSync(path.dirname(live.args[1]!))).toBe(true);
    expect(existsSync(path.join(sweep, 'apkovl-worker-foreign'))).toBe(true);
    await live.cleanup();
  });
});
