import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliPath,
  progressEvents,
  responseEnvelope,
  responseValue,
  runCli,
  startCli,
  wireLines,
} from '../helpers/cli.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { mtoolsLabel, mtoolsRead } from '../helpers/external-tools.js';

let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;

beforeAll(() => {
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.1, defaultApkovl: true });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

/** `apkovl build` of the test media and overlay into `output`, 64 MiB, plus `extra`. */
const buildArgs = (output: string, ...extra: string[]) => [
  'build',
  '--boot-media',
  media.tarball,
  '--overlay',
  overlay,
  '--output',
  output,
  '--size',
  '64MiB',
  ...extra,
];

describe('apkovl CLI', () => {
  it('is the bin of the package, so npx apkovl runs it', () => {
    const manifest = JSON.parse(readFileSync(path.resolve(cliPath, '../../../package.json'), 'utf8')) as {
      bin: Record<string, string>;
      version: string;
    };
    expect(path.resolve(cliPath, '../../..', manifest.bin.apkovl as string)).toBe(cliPath);
    expect(readFileSync(cliPath, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    expect(statSync(cliPath).mode & 0o111).not.toBe(0);
    expect(runCli(['--version']).stdout.trim()).toBe(manifest.version);
  });

  it('explains itself', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/build \[options\] \[definition\]\s+write a bootable card image/);
    for (const command of ['init', 'validate', 'overlay', 'inspect', 'schema'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    const build = runCli(['build', '--help']);
    expect(build.stdout).toMatch(/--boot-media <file>/);
    expect(build.stdout).toMatch(/--size <size>/);
    expect(build.stdout).toMatch(/Examples:/);
  });

  it('builds an image and prints a summary', () => {
    const output = path.join(temp.dir, 'plain.img');
    const result = runCli(buildArgs(output));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Built .*plain\.img \(65 MiB image/);
    expect(result.stdout).toMatch(/overlay\s+kiosk-hall\.apkovl\.tar\.gz/);
    expect(result.stdout).toMatch(/removed\s+alpine\.apkovl\.tar\.gz/);
    expect(statSync(output).size).toBe(65 * 1024 * 1024);
  });

  it('writes usercfg.txt and extends cmdline.txt when asked', () => {
    const output = path.join(temp.dir, 'custom.img');
    const usercfg = path.join(temp.dir, 'usercfg.txt');
    writeFileSync(usercfg, 'dtoverlay=vc4-kms-v3d\n');
    const result = runCli(
      buildArgs(
        output,
        '--usercfg',
        usercfg,
        '--cmdline-append',
        'usbdelay=5',
        '--cmdline-append',
        'console=serial0,115200',
        '--label',
        'KIOSK',
      ),
    );
    expect(result.status).toBe(0);
    const read = (name: string) => mtoolsRead(output, name).toString('utf8');
    expect(read('usercfg.txt')).toBe('dtoverlay=vc4-kms-v3d\n');
    expect(read('cmdline.txt')).toBe(
      'modules=loop,squashfs,sd-mod,usb-storage quiet console=tty1 usbdelay=5 console=serial0,115200\n',
    );
    expect(mtoolsLabel(output)).toMatch(/KIOSK/);
  });

  it('speaks JSON lines with --json: progress, then the result', () => {
    const output = path.join(temp.dir, 'json.img');
    const result = runCli(buildArgs(output, '--json'));
    expect(result.status).toBe(0);
    // The contract's own events and envelope, as `apkovl worker` speaks them.
    for (const line of wireLines(result.stdout).slice(0, -1)) {
      expect(line).toMatchObject({ type: 'event', name: 'job.progress', payload: { jobId: 'cli' } });
    }
    const progress = progressEvents(result.stdout);
    expect(progress.length).toBeGreaterThan(0);
    for (const event of progress) {
      expect(event).toMatchObject({ phase: 'write', label: expect.any(String), bytes: expect.any(Number) });
    }
    const writing = progress.filter((event) => event.label === 'Writing boot files');
    expect(writing.at(-1)).toMatchObject({ bytes: statSync(media.tarball).size, total: statSync(media.tarball).size });
    expect(wireLines(result.stdout).at(-1)).toMatchObject({ type: 'response', id: null, command: 'card.build' });
    expect(responseValue(result.stdout)).toMatchObject({
      destination: { kind: 'image', path: output },
      dropped: ['alpine.apkovl.tar.gz'],
      files: media.files.size + 1, // and the manifest
    });
  });

  it('reads an image back with --verify, range by range', () => {
    const output = path.join(temp.dir, 'verified.img');
    const result = runCli(buildArgs(output, '--verify', '--json'));
    expect(result.status, result.stderr).toBe(0);
    const summary = responseValue<{ bytesWritten: number; verification: { bytes: number; uncached: boolean } }>(
      result.stdout,
    );
    expect(summary.verification).toMatchObject({ uncached: false });
    // Every written range, once (the areas wiped first and written over later are read once).
    expect(summary.verification.bytes).toBeLessThanOrEqual(summary.bytesWritten);
    expect(summary.verification.bytes).toBeGreaterThan(summary.bytesWritten * 0.9);
    expect(progressEvents(result.stdout).some((event) => event.phase === 'verify')).toBe(true);
    const plain = runCli(buildArgs(path.join(temp.dir, 'unverified.img'), '--json'));
    expect(responseValue<{ verification: unknown }>(plain.stdout).verification).toBeNull();
  });

  it('reports a bad input as a JSON error and exit code 1, with nothing written', () => {
    const output = path.join(temp.dir, 'never.img');
    const result = runCli(['build', '--boot-media', overlay, '--overlay', overlay, '--output', output, '--json']);
    expect(result.status).toBe(1);
    expect(responseEnvelope(result.stdout)).toMatchObject({
      ok: false,
      error: { code: 'invalid-media', message: expect.stringMatching(/not Alpine boot media/) },
    });
    expect(result.stderr).toMatch(/^apkovl: error: .*not Alpine boot media/);
    expect(result.stderr).toMatch(/hint: use Alpine boot media such as/);
    expect(existsSync(output)).toBe(false);
  });

  it('names the option when a size cannot be read', () => {
    const result = runCli([
      'build',
      '--boot-media',
      media.tarball,
      '--overlay',
      overlay,
      '--output',
      path.join(temp.dir, 'x.img'),
      '--size',
      'huge',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--size: cannot read "huge" as a size/);
  });

  it('gives every command (and subcommand) an example in its help', () => {
    const listed = (help: string) =>
      help
        .split(/\nCommands:\n/)[1]
        ?.split('\n')
        .map((line) => /^ {2}([a-z]+)/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined && name !== 'help') ?? [];
    const commands = listed(runCli(['--help']).stdout);
    expect(commands).toEqual(expect.arrayContaining(['build', 'verify', 'erase', 'drives', 'worker', 'cache']));
    for (const command of commands) {
      const help = runCli(['help', command]).stdout;
      expect(help, command).toMatch(/\nExamples?( \([^)]*\))?:\n {2}.*apkovl /);
      for (const sub of listed(help)) {
        expect(runCli([command, sub, '--help']).stdout, `${command} ${sub}`).toMatch(/\nExamples?:\n {2}apkovl /);
      }
    }
  });

  it('exits with 2 on usage errors', () => {
    const result = runCli(['build', '--overlay', overlay]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/give --output \(an image file\) or --device \(a drive\)/);
    const unknown = runCli(['fetch', '--board', 'rpi', '--arch', 'mips']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/option '--arch <arch>' argument 'mips' is invalid/);
    const noMedia = runCli(['build', '--overlay', overlay, '--output', path.join(temp.dir, 'x.img')]);
    expect(noMedia.status).toBe(2);
    expect(noMedia.stderr).toMatch(/without a machine definition, give the boot media/);
  });

  it('stops cleanly on Ctrl-C and leaves nothing behind', async () => {
    const big = createSyntheticRpiMedia({
      dir: path.join(temp.dir, 'big'),
      scale: 1.5,
      overlayCount: 20,
      apkCount: 10,
    });
    const output = path.join(temp.dir, 'interrupted.img');
    const child = startCli(['build', '--boot-media', big.tarball, '--overlay', overlay, '--output', output, '--json']);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"name":"job.progress"')) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(stderr).toMatch(/cancelled; nothing was left behind/);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });
});
