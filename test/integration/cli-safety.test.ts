import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { createServices } from '../../main/services/index.js';
import { runCli } from '../helpers/cli.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * An output that is one of the inputs: refused before anything is written, by device and inode
 * (a hard link, a symbolic link or another spelling of the path are the same file), in the
 * services (so the app is covered) and therefore in the CLI, with exit status 2.
 */
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
const fixtures = path.resolve('test/fixtures/definitions');

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.02, overlayCount: 3, apkCount: 2 });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

/** A copy of `file` in a folder of its own, to be overwritten (or not) by one test. */
function copyOf(file: string, name = path.basename(file)): string {
  const dir = path.join(temp.dir, `case-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  const copy = path.join(dir, name);
  copyFileSync(file, copy);
  return copy;
}

/** The build is refused with exit 2 naming both options, the input is unchanged, no partial is left. */
function expectRefused(args: string[], input: string, both: RegExp): void {
  const before = sha256(input);
  const result = runCli(args);
  expect(result.stderr).toMatch(both);
  expect(result.stderr).toMatch(/writing it would replace the input\n {2}hint: give --output a new file name/);
  expect(result.status).toBe(2);
  expect(sha256(input)).toBe(before);
  expect(readdirSync(path.dirname(input)).filter((name) => name.endsWith('.partial'))).toEqual([]);
}

describe('build refuses an output that is one of its inputs', () => {
  it('--boot-media X --output X, also spelt ./X', () => {
    const tarball = copyOf(media.tarball);
    const relative = `./${path.relative(process.cwd(), tarball)}`;
    expectRefused(
      ['build', '--boot-media', tarball, '--overlay', overlay, '--output', relative, '--size', '64MiB'],
      tarball,
      /--output is the same file as --boot-media/,
    );
  });

  it('--overlay Y --output Y', () => {
    const apkovl = copyOf(overlay);
    expectRefused(
      ['build', '--boot-media', media.tarball, '--overlay', apkovl, '--output', apkovl],
      apkovl,
      /--output is the same file as --overlay/,
    );
  });

  it('an output that is a hard link or a symbolic link to the boot media', () => {
    const tarball = copyOf(media.tarball);
    const hard = path.join(path.dirname(tarball), 'card.img');
    linkSync(tarball, hard);
    expectRefused(
      ['build', '--boot-media', tarball, '--overlay', overlay, '--output', hard],
      tarball,
      /--output is the same file as --boot-media \(.*card\.img and .*\.tar\.gz are the same file\)/,
    );
    const soft = path.join(path.dirname(tarball), 'soft.img');
    symlinkSync(path.basename(tarball), soft);
    expectRefused(
      ['build', '--boot-media', tarball, '--overlay', overlay, '--output', soft],
      tarball,
      /--output is the same file as --boot-media/,
    );
  });

  it('--usercfg, the definition, its secrets file and a source file', () => {
    const usercfg = copyOf(path.join(fixtures, 'hello.sh'), 'usercfg.txt');
    expectRefused(
      ['build', '--boot-media', media.tarball, '--overlay', overlay, '--usercfg', usercfg, '--output', usercfg],
      usercfg,
      /--output is the same file as --usercfg/,
    );
    const definition = copyOf(path.join(fixtures, 'minimal.yml'));
    expectRefused(
      ['build', definition, '--boot-media', media.tarball, '--output', definition],
      definition,
      /--output is the same file as the machine definition/,
    );
    // Without --boot-media the media would be fetched: refused before any download.
    expectRefused(
      ['build', definition, '--offline', '--cache-dir', path.join(temp.dir, 'cache'), '--output', definition],
      definition,
      /--output is the same file as the machine definition/,
    );
    const secrets = path.join(path.dirname(definition), 'minimal.secrets.yml');
    copyFileSync(path.join(fixtures, 'secrets.yml'), secrets);
    expectRefused(
      ['build', definition, '--secrets', secrets, '--boot-media', media.tarball, '--output', secrets],
      secrets,
      /--output is the same file as --secrets/,
    );
    const withFiles = copyOf(path.join(fixtures, 'files.yml'));
    const dir = path.dirname(withFiles);
    for (const name of ['hello.sh', 'extra.zip']) copyFileSync(path.join(fixtures, name), path.join(dir, name));
    mkdirSync(path.join(dir, 'tree'));
    expectRefused(
      ['build', withFiles, '--boot-media', media.tarball, '--output', path.join(dir, 'hello.sh')],
      path.join(dir, 'hello.sh'),
      /--output is the same file as files\[1\]\.source of files\.yml/,
    );
    expectRefused(
      ['build', withFiles, '--boot-media', media.tarball, '--output', path.join(dir, 'extra.zip')],
      path.join(dir, 'extra.zip'),
      /--output is the same file as files\[4\]\.tree of files\.yml/,
    );
  });

  it('in the services, so that the app is covered too', async () => {
    const tarball = copyOf(media.tarball);
    const services = createServices({ now: () => performance.now(), env: {} });
    const before = sha256(tarball);
    const refused = await services
      .build({
        source: { kind: 'apkovl', file: overlay },
        media: { kind: 'file', path: tarball },
        destination: { kind: 'image', path: tarball },
        card: { cmdlineAppend: [] },
        verify: false,
      })
      .then(() => null)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'usage', location: '--output' });
    expect(sha256(tarball)).toBe(before);
  });

  it('still replaces an earlier image, which is no input', () => {
    const output = path.join(temp.dir, 'again.img');
    const args = ['build', '--boot-media', media.tarball, '--overlay', overlay, '--output', output, '--size', '64MiB'];
    expect(runCli(args).status).toBe(0);
    const result = runCli(args);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('overlay refuses to write <hostname>.apkovl.tar.gz over its inputs', () => {
  it('over the definition, the secrets file or a source file', () => {
    // A definition saved under the name its overlay gets, in the output folder.
    const definition = copyOf(path.join(fixtures, 'minimal.yml'), 'minimal.apkovl.tar.gz');
    const dir = path.dirname(definition);
    expectRefused(
      ['overlay', definition, '-o', dir],
      definition,
      /--output is the same file as the machine definition/,
    );

    const real = copyOf(path.join(fixtures, 'minimal.yml'));
    const secrets = path.join(path.dirname(real), 'minimal.secrets.yml');
    copyFileSync(path.join(fixtures, 'secrets.yml'), secrets);
    const out = path.join(temp.dir, 'overlay-out');
    mkdirSync(out);
    linkSync(secrets, path.join(out, 'minimal.apkovl.tar.gz'));
    expectRefused(
      ['overlay', real, '--secrets', secrets, '-o', out],
      secrets,
      /--output is the same file as --secrets/,
    );

    const withFiles = copyOf(path.join(fixtures, 'files.yml'));
    const filesDir = path.dirname(withFiles);
    for (const name of ['extra.zip']) copyFileSync(path.join(fixtures, name), path.join(filesDir, name));
    mkdirSync(path.join(filesDir, 'tree'));
    writeFileSync(path.join(filesDir, 'hello.sh'), '#!/bin/sh\necho hello\n');
    const sourceOut = path.join(temp.dir, 'source-out');
    mkdirSync(sourceOut);
    symlinkSync(path.join(filesDir, 'hello.sh'), path.join(sourceOut, 'files.apkovl.tar.gz'));
    expectRefused(
      ['overlay', withFiles, '-o', sourceOut],
      path.join(filesDir, 'hello.sh'),
      /--output is the same file as files\[1\]\.source of files\.yml/,
    );
    expect(existsSync(path.join(sourceOut, 'files.apkovl.tar.gz'))).toBe(true);
  });
});
