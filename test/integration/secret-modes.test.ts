import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveDefinition } from '../../main/services/machine/save-definition.js';
import { templates } from '../../main/services/machine/templates.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Files holding secrets are readable by their owner only (0600), whatever the umask and
 * whatever file was there before: card images (every apkovl carries /etc/shadow), overlays and
 * secrets files. An existing secrets file is replaced only when asked for in so many words.
 */
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
const fixtures = path.resolve('test/fixtures/definitions');
const modeOf = (file: string) => statSync(file).mode & 0o777;

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.02, overlayCount: 3, apkCount: 2 });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

/** The CLI under a given umask (a shell sets it; Node cannot for a child). */
function runWithUmask(umask: string, args: string[]) {
  return spawnSync('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, cliPath, ...args], {
    encoding: 'utf8',
  });
}

describe('card images', () => {
  it.each(['000', '022', '077'])('are written 0600 under umask %s', (umask) => {
    const output = path.join(temp.dir, `umask-${umask}.img`);
    const result = runWithUmask(umask, [
      'build',
      '--boot-media',
      media.tarball,
      '--overlay',
      overlay,
      '--output',
      output,
      '--size',
      '64MiB',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(modeOf(output)).toBe(0o600);
  });

  it('replace a world-readable image with a 0600 one, from a definition with secrets', () => {
    const dir = path.join(temp.dir, 'kiosk');
    mkdirSync(dir);
    const output = path.join(dir, 'kiosk.img');
    writeFileSync(output, 'an old image');
    chmodSync(output, 0o644);
    const result = runCli([
      'build',
      path.join(fixtures, 'users.yml'),
      '--secrets',
      path.join(fixtures, 'secrets.yml'),
      '--boot-media',
      media.tarball,
      '--output',
      output,
      '--size',
      '64MiB',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(modeOf(output)).toBe(0o600);
  });
});

describe('apkovl init and secrets files', () => {
  const kiosk = templates.find((template) => template.name === 'rpi-kiosk');

  function initialised(name: string) {
    const dir = path.join(temp.dir, name);
    mkdirSync(dir);
    const definition = path.join(dir, 'kiosk.yml');
    const secrets = path.join(dir, 'kiosk.secrets.yml');
    expect(runCli(['init', '--template', 'rpi-kiosk', '-o', definition]).status).toBe(0);
    // The user's own secrets, in a file they made readable by others.
    writeFileSync(secrets, "lounge_wifi: 'my real passphrase'\n");
    chmodSync(secrets, 0o644);
    writeFileSync(definition, '# edited\n');
    return { definition, secrets };
  }

  it('writes a new secrets file 0600 even under umask 000', () => {
    const dir = path.join(temp.dir, 'fresh');
    mkdirSync(dir);
    const result = runWithUmask('000', ['init', '--template', 'rpi-kiosk', '-o', path.join(dir, 'kiosk.yml')]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/kiosk\.secrets\.yml \(mode 0600\)/);
    expect(modeOf(path.join(dir, 'kiosk.secrets.yml'))).toBe(0o600);
  });

  it('with --force overwrites the definition but keeps an existing secrets file, and says so', () => {
    const { definition, secrets } = initialised('force');
    const result = runCli(['init', '--template', 'rpi-kiosk', '-o', definition, '--force']);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(definition, 'utf8')).toMatch(/^# Apkovl Studio machine definition/);
    expect(readFileSync(secrets, 'utf8')).toBe("lounge_wifi: 'my real passphrase'\n");
    expect(result.stdout).toMatch(
      /Kept .*kiosk\.secrets\.yml: an existing secrets file is replaced only with --force-secrets/,
    );
    expect(result.stdout).not.toMatch(/mode 0600/);
    // What the kept file lacks for the new definition, and its loose mode.
    const needed = Object.keys(parse(kiosk?.secrets ?? '') as Record<string, string>);
    expect(needed.length).toBeGreaterThan(0);
    expect(result.stderr).toMatch(new RegExp(`has no ${needed.join(', ')}, which the new definition refers to`));
    expect(result.stderr).toMatch(/readable by others \(mode 0644\): chmod 600 .*kiosk\.secrets\.yml/);
  });

  it('without --force refuses an existing secrets file, naming both ways on', () => {
    const { definition, secrets } = initialised('no-force');
    const fresh = path.join(path.dirname(definition), 'other.yml');
    writeFileSync(path.join(path.dirname(definition), 'other.secrets.yml'), 'x: y\n');
    const result = runCli(['init', '--template', 'rpi-kiosk', '-o', fresh]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /other\.secrets\.yml exists\n {2}hint: .*--force to write the definition and keep .*--force-secrets/,
    );
    expect(readFileSync(secrets, 'utf8')).toBe("lounge_wifi: 'my real passphrase'\n");
  });

  it('with --force-secrets replaces the secrets file, mode 0600 whatever it was', () => {
    const { definition, secrets } = initialised('force-secrets');
    const result = runCli(['init', '--template', 'rpi-kiosk', '-o', definition, '--force', '--force-secrets']);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(secrets, 'utf8')).toBe(kiosk?.secrets);
    expect(modeOf(secrets)).toBe(0o600);
    expect(result.stdout).toMatch(/kiosk\.secrets\.yml \(mode 0600\)/);
  });
});

describe('saveDefinition (the app)', () => {
  it('leaves the secrets file 0600 even where its temporary file was left world-readable', async () => {
    const dir = path.join(temp.dir, 'app');
    mkdirSync(dir);
    const file = path.join(dir, 'kiosk.yml');
    const secretsPath = path.join(dir, 'kiosk.secrets.yml');
    // A temporary file of an earlier save by a process with this pid, world-readable.
    const leftover = `${secretsPath}.${process.pid}.partial`;
    writeFileSync(leftover, 'old');
    chmodSync(leftover, 0o644);
    const yaml = readFileSync(path.join(fixtures, 'network.yml'), 'utf8');
    const secrets = parse(readFileSync(path.join(fixtures, 'secrets.yml'), 'utf8')) as Record<string, string>;
    const saved = await saveDefinition({ path: file, yaml, secrets });
    expect(saved.secretsPath).toBe(secretsPath);
    expect(modeOf(secretsPath)).toBe(0o600);
    expect(parse(readFileSync(secretsPath, 'utf8'))).toEqual(secrets);
  });
});
