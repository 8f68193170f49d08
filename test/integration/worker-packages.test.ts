import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packagedWorkerCommand } from '../../main/app/worker-command.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The Linux packages, built by scripts/package-linux.sh (electron-builder, offline). It needs an
 * Electron binary, electron-builder's AppImage tools and fpm, which electron-builder downloads
 * from GitHub: where they are not here the build is skipped, and the test's name says exactly
 * what is missing (this machine has no Electron binary: the skip is expected here and in CI).
 */
const script = path.resolve('scripts/package-linux.sh');
const check = spawnSync(script, ['--check'], { encoding: 'utf8' });
const missing = check.status === 3 ? check.stdout.trim().split('\n') : [];
const temp = makeTempDir('apkovl-packages-');
afterAll(() => temp.cleanup());

describe('scripts/package-linux.sh', () => {
  it('says exactly what is missing when nothing is cached', () => {
    const empty = path.join(temp.dir, 'empty');
    mkdirSync(empty);
    const result = spawnSync(script, ['--check'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        APKOVL_ELECTRON_DIST: empty,
        ELECTRON_BUILDER_CACHE: empty,
        ELECTRON_CACHE: empty,
        APPIMAGE_TOOLS_PATH: '',
        CUSTOM_FPM_PATH: '',
        USE_SYSTEM_FPM: '',
      },
    });
    expect(result.status).toBe(3);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^missing: Electron binary: APKOVL_ELECTRON_DIST=.* has neither electron nor electron-v[\d.]+-linux-\w+\.zip$/,
    );
    expect(lines[1]).toContain(`missing: AppImage tools: no ${empty}/appimage-12.0.1/appimage-12.0.1.7z`);
    expect(lines[2]).toContain(`missing: fpm: no ${empty}/fpm@2.1.4/fpm-1.17.0-ruby-3.4.3-linux-`);
    expect(result.stderr).toMatch(/offline/);
  });

  it('checks successfully or names what is missing', () => {
    expect([0, 3]).toContain(check.status);
    if (check.status === 3) expect(missing.every((line) => line.startsWith('missing: '))).toBe(true);
  });

  it.skipIf(missing.length > 0)(
    `builds the AppImage and the deb with the worker and the polkit action${missing.length > 0 ? ` (skipped: ${missing.join('; ')})` : ''}`,
    () => {
      execFileSync(script, [], { stdio: 'inherit', timeout: 900_000 });
      const output = path.resolve('release/packages');
      const files = readdirSync(output);
      const deb = files.find((file) => file.endsWith('.deb'));
      const appImage = files.find((file) => file.endsWith('.AppImage'));
      expect(deb).toBeDefined();
      expect(appImage).toBeDefined();
      const listing = execFileSync('dpkg-deb', ['-c', path.join(output, deb!)], { encoding: 'utf8' });
      expect(listing).toContain('./opt/Apkovl Studio/resources/worker/apkovl');
      expect(listing).toContain('./opt/Apkovl Studio/resources/worker/lib/node_modules/drivelist/');
      expect(listing).toContain('./usr/share/polkit-1/actions/org.apkovlstudio.worker.policy');
      expect(listing).toContain('./opt/Apkovl Studio/resources/app.asar');
      const extract = path.join(temp.dir, 'appimage');
      mkdirSync(extract);
      execFileSync(path.join(output, appImage!), ['--appimage-extract'], { cwd: extract, stdio: 'ignore' });
      expect(existsSync(path.join(extract, 'squashfs-root/resources/worker/apkovl'))).toBe(true);
    },
    900_000,
  );

  it('electron-builder packs the app folder offline with a stand-in Electron: asar, unpacked natives, worker, fuses', async () => {
    // A stand-in Electron: a script carrying Electron's fuse wire (sentinel, version 1, 8 fuses,
    // all as Electron ships them), so that electron-builder runs its whole `dir` target here:
    // file selection, asar, asarUnpack, extraResources and @electron/fuses.
    const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
    const electron = path.join(temp.dir, 'electron-dist');
    mkdirSync(electron);
    writeFileSync(path.join(electron, 'electron'), `#!/bin/sh\n# ${SENTINEL}\x01\x0810100100\nexit 0\n`);
    chmodSync(path.join(electron, 'electron'), 0o755);
    writeFileSync(path.join(electron, 'LICENSE'), '');
    writeFileSync(path.join(electron, 'version'), '45.5.0');
    const { buildWorker } = (await import(path.resolve('scripts/build-worker.mjs'))) as {
      buildWorker: (options: { out: string }) => Promise<unknown>;
    };
    const worker = path.join(temp.dir, 'worker');
    await buildWorker({ out: worker });
    // The project's configuration, with the worker and the output in the temporary folder.
    const config = parse(readFileSync('electron-builder.yml', 'utf8')) as {
      directories: { output: string };
      linux: { extraResources: { from: string; to: string }[] };
      electronFuses: Record<string, boolean>;
    };
    config.directories.output = path.join(temp.dir, 'out');
    config.linux.extraResources[0]!.from = worker;
    const configFile = path.join(temp.dir, 'electron-builder.json');
    writeFileSync(configFile, JSON.stringify(config));
    const builder = path.resolve('node_modules/.bin/electron-builder');
    execFileSync(
      builder,
      [
        '--linux',
        'dir',
        '--x64',
        '--publish',
        'never',
        '--config',
        configFile,
        `-c.electronDist=${electron}`,
        '-c.electronVersion=45.5.0',
      ],
      { stdio: 'pipe', timeout: 300_000 },
    );
    const app = path.join(temp.dir, 'out', 'linux-unpacked');
    const resources = path.join(app, 'resources');
    expect(existsSync(path.join(resources, 'app.asar'))).toBe(true);
    for (const name of ['drivelist', '@ronomon/direct-io', 'xxhash-addon']) {
      expect(existsSync(path.join(resources, 'app.asar.unpacked', 'node_modules', name)), name).toBe(true);
    }
    // The fuses, as set in the binary.
    const binary = readFileSync(path.join(app, 'apkovl-studio'));
    const wire = binary.indexOf(SENTINEL) + SENTINEL.length;
    const fuses = binary.subarray(wire + 2, wire + 2 + binary[wire + 1]!).toString('latin1');
    const expected = [
      'runAsNode',
      'enableCookieEncryption',
      'enableNodeOptionsEnvironmentVariable',
      'enableNodeCliInspectArguments',
      'enableEmbeddedAsarIntegrityValidation',
      'onlyLoadAppFromAsar',
    ]
      .map((name) => (config.electronFuses[name] ? '1' : '0'))
      .join('');
    expect(fuses.slice(0, 6)).toBe(expected);
    expect(fuses.slice(0, 6)).toBe('010011');
    // The worker, where packagedWorkerCommand looks for it, answers from the package.
    const command = packagedWorkerCommand(resources, 'linux');
    const answer = await new Promise<string>((resolve, reject) => {
      const child = spawn(command.command, command.args, { env: { PATH: '/usr/bin:/bin' } });
      child.once('error', reject);
      createInterface({ input: child.stdout }).once('line', (line) => {
        child.stdin.end();
        resolve(line);
      });
      child.stdin.write(`${JSON.stringify({ type: 'request', id: 1, command: 'drives.list', input: {} })}\n`);
    });
    expect(JSON.parse(answer)).toMatchObject({ id: 1, envelope: { ok: true } });
  }, 300_000);
});
