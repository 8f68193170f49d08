import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
      expect(listing).toContain('./opt/Apkovl Studio/resources/worker/node_modules/drivelist/');
      expect(listing).toContain('./usr/share/polkit-1/actions/org.apkovlstudio.worker.policy');
      expect(listing).toContain('./opt/Apkovl Studio/resources/app.asar');
      const extract = path.join(temp.dir, 'appimage');
      mkdirSync(extract);
      execFileSync(path.join(output, appImage!), ['--appimage-extract'], { cwd: extract, stdio: 'ignore' });
      expect(existsSync(path.join(extract, 'squashfs-root/resources/worker/apkovl'))).toBe(true);
    },
    900_000,
  );
});
