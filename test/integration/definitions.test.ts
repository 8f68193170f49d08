import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templates } from '../../main/services/machine/templates.js';
import { responseValue, runCli } from '../helpers/cli.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { mtoolsListing, mtoolsRead } from '../helpers/external-tools.js';

let temp: ReturnType<typeof makeTempDir>;
const fixtures = path.resolve('test/fixtures/definitions');
const json = (text: string) => responseValue(text);

beforeAll(() => {
  temp = makeTempDir();
});
afterAll(() => temp.cleanup());

describe.each(templates.map((template) => template.name))('template %s', (name) => {
  const dir = () => path.join(temp.dir, name);
  const definition = () => path.join(dir(), `${name}.yml`);
  const secrets = () => path.join(dir(), `${name}.secrets.yml`);
  const secretArgs = () => (existsSync(secrets()) ? ['--secrets', secrets()] : []);

  it('is written by apkovl init, with its secrets file readable by its owner only', () => {
    mkdirSync(dir());
    const result = runCli(['init', '--template', name, '-o', definition()]);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(definition(), 'utf8')).toMatch(/^# Apkovl Studio machine definition/);
    if (templates.find((template) => template.name === name)?.secrets)
      expect(statSync(secrets()).mode & 0o777).toBe(0o600);
    expect(runCli(['init', '--template', name, '-o', definition()]).stderr).toMatch(/exists.*--force/s);
  });

  it('validates, warning only about the example key it carries', () => {
    const result = runCli(['validate', definition(), ...secretArgs()]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/valid; .*\.apkovl\.tar\.gz would have \d+ members/);
    expect(result.stderr).toMatch(/example key of the template/);
  });

  it('gives the same overlay twice, clean under apkovl inspect', () => {
    const out = path.join(dir(), 'out');
    const first = json(runCli(['overlay', definition(), ...secretArgs(), '-o', out, '--json']).stdout);
    const file = first.path as string;
    const bytes = readFileSync(file);
    const again = json(runCli(['overlay', definition(), ...secretArgs(), '-o', out, '--json']).stdout);
    expect(again.sha256).toBe(first.sha256);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const inspected = runCli(['inspect', file, '--json']);
    expect(inspected.status).toBe(0);
    expect(json(inspected.stdout).findings).toEqual([]);
    // No secret value in the overlay (Wi-Fi passphrases are stored as PSKs).
    if (existsSync(secrets())) {
      for (const value of Object.values(parse(readFileSync(secrets(), 'utf8')) as Record<string, string>)) {
        expect(
          execFileSync('sh', ['-c', `gzip -dc "${file}" | grep -c -F "${value}" || true`], { encoding: 'utf8' }).trim(),
        ).toBe('0');
      }
    }
  });

  it('unpacks with BusyBox tar, as the initramfs does, with the modes and owners it lists', () => {
    const file = readdirSync(path.join(dir(), 'out')).map((entry) => path.join(dir(), 'out', entry))[0] as string;
    const listing = execFileSync('busybox', ['tar', '-tzvf', file], { encoding: 'utf8' });
    expect(listing).not.toMatch(/ \.\//);
    expect(listing).toMatch(/^drwxr-xr-x root\/root .* etc\/$/m);
    if (process.getuid?.() !== 0) return;
    const root = path.join(dir(), 'root');
    mkdirSync(root);
    execFileSync('busybox', ['tar', '-C', root, '-xzf', file]);
    const shadow = statSync(path.join(root, 'etc/shadow'));
    expect(shadow.mode & 0o777).toBe(0o640);
    expect(shadow.gid).toBe(42);
    expect(statSync(path.join(root, 'root')).mode & 0o777).toBe(0o700);
    const home = readdirSync(path.join(root, 'home'))[0] as string;
    expect(statSync(path.join(root, 'home', home)).uid).toBeGreaterThanOrEqual(1000);
  });
});

describe('JSON Schema (apkovl schema)', () => {
  it('accepts every template and refuses what the loader refuses', () => {
    const result = runCli(['schema']);
    expect(result.status).toBe(0);
    const Ajv = Ajv2020 as unknown as new (options: object) => {
      compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown };
    };
    const ajv = new Ajv({ strict: false, allErrors: true });
    (addFormats as unknown as (instance: unknown) => void)(ajv);
    const validate = ajv.compile(JSON.parse(result.stdout) as object);
    for (const template of templates)
      expect(validate(parse(template.definition)), `${template.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    expect(validate({ version: 1, hostname: 'x', target: { board: 'rpi', arch: 'aarch64' }, timezon: 'UTC' })).toBe(
      false,
    );
    expect(validate({ version: 2, hostname: 'x', target: { board: 'rpi', arch: 'aarch64' } })).toBe(false);
  });
});

describe('definitions that are refused', () => {
  it('a zip tree with ../ (zip-slip), with nothing written', () => {
    const file = path.join(temp.dir, 'zip-slip.yml');
    copyFileSync(path.join(fixtures, 'zip-slip.zip'), path.join(temp.dir, 'zip-slip.zip'));
    writeFileSync(
      file,
      'version: 1\nhostname: zipper\ntarget: { board: rpi, arch: aarch64 }\nfiles:\n  - { tree: zip-slip.zip }\n',
    );
    const out = path.join(temp.dir, 'zip-out');
    const result = runCli(['overlay', file, '-o', out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/files\[0\]\.tree.*"\.\.\/\.\.\/evil" would be written outside/);
    expect(existsSync(out)).toBe(false);
  });

  it('a bad definition, with every problem and its line, and nothing written', () => {
    const file = path.join(temp.dir, 'bad.yml');
    writeFileSync(
      file,
      'version: 1\nhostname: -bad\ntarget: { board: rpi, arch: aarch64 }\nnetwork:\n  dns: [not-an-ip]\n',
    );
    const out = path.join(temp.dir, 'bad-out');
    const result = runCli(['overlay', file, '-o', out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bad\.yml:2:11 hostname: .*not a valid host label/);
    expect(result.stderr).toMatch(/bad\.yml:5:\d+ network\.dns\[0\]: not an IP address/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('apkovl build from a definition', () => {
  let media: SyntheticMedia;
  beforeAll(() => {
    media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'media'), scale: 0.05, defaultApkovl: true });
  });

  it('puts the generated overlay and the card settings on the card', () => {
    const image = path.join(temp.dir, 'kiosk.img');
    const definition = path.join(fixtures, 'kiosk.yml');
    const result = runCli([
      'build',
      definition,
      '--secrets',
      path.join(fixtures, 'secrets.yml'),
      '--boot-media',
      media.tarball,
      '--output',
      image,
      '--json',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const summary = json(result.stdout);
    expect(summary).toMatchObject({
      overlay: { fileName: 'kiosk-hall.apkovl.tar.gz', hostname: 'kiosk-hall' },
      filesystem: { label: 'KIOSK-HALL' },
      dropped: ['alpine.apkovl.tar.gz'],
    });
    expect(statSync(image).size).toBe(1025 * 1024 * 1024); // boot.partition_size: 1GiB
    expect(mtoolsRead(image, 'usercfg.txt').toString()).toBe(
      'dtoverlay=vc4-kms-v3d\ndisable_overscan=1\ngpu_mem=128\n',
    );
    expect(mtoolsRead(image, 'cmdline.txt').toString()).toMatch(/console=tty1 consoleblank=0 usbdelay=5\n$/);
    const overlay = mtoolsRead(image, 'kiosk-hall.apkovl.tar.gz');
    const out = path.join(temp.dir, 'kiosk-overlay');
    json(runCli(['overlay', definition, '--secrets', path.join(fixtures, 'secrets.yml'), '-o', out, '--json']).stdout);
    expect(overlay.equals(readFileSync(path.join(out, 'kiosk-hall.apkovl.tar.gz')))).toBe(true);
  });

  it('pins latest-stable to the release of the boot media and creates the apk cache folder', () => {
    const definition = path.join(temp.dir, 'cache.yml');
    writeFileSync(
      definition,
      'version: 1\nhostname: cached\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\npersistence: { apk_cache: true }\n',
    );
    const image = path.join(temp.dir, 'cache.img');
    expect(
      runCli(['build', definition, '--boot-media', media.tarball, '--output', image, '--size', '64MiB']).status,
    ).toBe(0);
    const listing = mtoolsListing(image);
    expect(listing).toMatch(/^::\/cache\/$/m);
    const overlayFile = path.join(temp.dir, 'cached.apkovl.tar.gz');
    writeFileSync(overlayFile, mtoolsRead(image, 'cached.apkovl.tar.gz'));
    expect(execFileSync('tar', ['-xzOf', overlayFile, 'etc/apk/repositories'], { encoding: 'utf8' })).toContain(
      '/alpine/v3.22/main',
    );
  });

  it('refuses boot media for another architecture before writing the card', () => {
    const definition = path.join(temp.dir, 'armv7.yml');
    writeFileSync(
      definition,
      'version: 1\nhostname: arm\ntarget: { board: rpi, arch: armv7 }\nssh: { enable: false }\n',
    );
    const image = path.join(temp.dir, 'armv7.img');
    const result = runCli(['build', definition, '--boot-media', media.tarball, '--output', image]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/the boot media are for aarch64 but the definition targets armv7/);
    expect(existsSync(image)).toBe(false);
  });
});
