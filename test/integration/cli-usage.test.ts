import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { mtoolsRead } from '../helpers/external-tools.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The command line itself: options that take one value each, unknown options reported as such,
 * bad option values as usage errors (exit 2, as the README promises), sizes explained, and
 * partitions an MBR cannot address refused up front.
 */
let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
const fixtures = path.resolve('test/fixtures/definitions');
const minimal = path.join(fixtures, 'minimal.yml');

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.02, overlayCount: 3, apkCount: 2 });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

const output = (name: string) => path.join(temp.dir, name);
const overlayBuild = (...extra: string[]) => ['build', '--boot-media', media.tarball, '--overlay', overlay, ...extra];
const lastJson = (text: string) => JSON.parse(text.trim().split('\n').at(-1) as string) as Record<string, unknown>;

describe('--cmdline-append', () => {
  it('takes one parameter per use, so the definition after it stays the definition', () => {
    const image = output('cmdline.img');
    const result = runCli([
      'build',
      '--cmdline-append',
      'usbdelay=5',
      minimal,
      '--cmdline-append',
      'console=serial0,115200',
      '--boot-media',
      media.tarball,
      '--output',
      image,
      '--size',
      '64MiB',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(mtoolsRead(image, 'cmdline.txt').toString()).toMatch(/ usbdelay=5 console=serial0,115200\n$/);
  });

  it('refuses an empty parameter as a usage error, before any work', () => {
    const result = runCli(overlayBuild('--output', output('never.img'), '--cmdline-append', ' '));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--cmdline-append: " " is not a kernel parameter/);
  });
});

describe('unknown options', () => {
  it('are reported as unknown, not as the missing --output (a required option) that hid them', () => {
    const result = runCli(['build', minimal, '--bogus', '--output-file', output('x.img')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown option '--bogus'/);
    expect(result.stderr).not.toMatch(/required option/);
  });

  it("come with commander's suggestion", () => {
    const result = runCli(overlayBuild('--outptu', output('x.img')));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--outptu'\n\(Did you mean --output\?\)/);
  });

  it('end as a JSON error line with --json', () => {
    const result = runCli(overlayBuild('--json', '--sise', '1GiB', '-o', output('x.img')));
    expect(result.status).toBe(2);
    expect(lastJson(result.stdout)).toEqual({
      type: 'response',
      id: null,
      command: 'card.build',
      envelope: {
        ok: false,
        error: { code: 'usage', message: "unknown option '--sise'", location: null, hint: 'Did you mean --size?' },
      },
    });
  });

  it('leave a missing required option to be reported when it is the only problem', () => {
    const result = runCli(overlayBuild());
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/give --output \(an image file\) or --device \(a drive\), one of them/);
    const init = runCli(['init']);
    expect(init.status).toBe(2);
    expect(init.stderr).toMatch(/required option '-t, --template <name>' not specified/);
  });
});

describe('bad option values are usage errors (exit 2)', () => {
  it.each([
    [['--size', 'abc'], /--size: cannot read "abc" as a size/],
    [['--size', '10MiB'], /--size: a FAT32 partition needs at least 32\.5 MiB/],
    [['--label', 'kiosk'], /--label: "kiosk" cannot be a FAT volume label/],
    [['--label', 'CIDATA'], /--label: the label CIDATA switches on tiny-cloud/],
  ])('build %j', (flags, message) => {
    const dir = path.join(temp.dir, `bad-${flags.join('-')}`);
    mkdirSync(dir);
    const result = runCli(overlayBuild('--output', path.join(dir, 'card.img'), ...flags));
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('in every command', () => {
    const cases: [string[], RegExp][] = [
      [
        ['init', '--template', 'nosuch'],
        /--template: there is no template "nosuch"\n {2}hint: choose one of rpi-kiosk/,
      ],
      [['build', '--output', output('x.img')], /give a machine definition or --overlay/],
      [
        ['build', '--overlay', overlay, '--output', output('x.img')],
        /without a machine definition, give the boot media/,
      ],
      [
        ['fetch', '--board', 'rpi', '--arch', 'aarch64', '--branch', 'v3.22', '--version', '3.22.2'],
        /--branch or --version/,
      ],
      [['cache', 'prune', '--older-than', 'soon', '--cache-dir', output('cache')], /"soon" is not a number of days/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(args);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.status, args.join(' ')).toBe(2);
    }
  });

  it('init into a folder that does not exist: the folder is named, no internal error', () => {
    const target = path.join(output('no-such-folder'), 'kiosk.yml');
    const result = runCli(['init', '--template', 'rpi-kiosk', '-o', target]);
    expect(result.stderr).toContain(`cannot write ${target}: its folder does not exist`);
    expect(result.stderr).toMatch(/hint: the folder .*no-such-folder does not exist: create it first/);
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.status).toBe(1);
  });
});

describe('partition sizes', () => {
  it('are explained: what the FATs and reserved sectors take', () => {
    const result = runCli(overlayBuild('--output', output('one-gib.img'), '--size', '1GiB'));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/partition {4}1 GiB FAT32 at 1 MiB/);
    expect(result.stdout).toMatch(/space {8}1022 MiB for files, 2\.0 MiB for the FATs and reserved sectors\n/);
  });

  it.each(['2TiB', '3TiB', '20TiB'])('beyond what an MBR addresses (--size %s) are refused up front', (size) => {
    const dir = path.join(temp.dir, `mbr-${size}`);
    mkdirSync(dir);
    const result = runCli(overlayBuild('--output', path.join(dir, 'card.img'), '--size', size));
    expect(result.stderr).toMatch(
      /--size: a [\d.]+ TiB partition \(\d+ bytes\) is larger than an MBR can address: .* at most 2 TiB - 1 MiB \(2097151 MiB\)\n {2}hint: give 2097151MiB or less/,
    );
    expect(result.status).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("beyond what an MBR addresses in a definition's boot.partition_size are refused by validate and build", () => {
    const definition = output('huge.yml');
    writeFileSync(
      definition,
      'version: 1\nhostname: huge\ntarget: { board: rpi, arch: aarch64 }\nboot: { partition_size: 3TiB }\n',
    );
    const validate = runCli(['validate', definition]);
    expect(validate.status).toBe(1);
    expect(validate.stderr).toMatch(/huge\.yml:4:\d+ boot\.partition_size: larger than an MBR can address/);
    const image = output('huge.img');
    const build = runCli(['build', definition, '--boot-media', media.tarball, '--output', image]);
    expect(build.status).toBe(1);
    expect(build.stderr).toMatch(/boot\.partition_size: larger than an MBR can address/);
    expect(existsSync(image)).toBe(false);
  });
});
