import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * A build stopped from outside (SIGTERM, SIGHUP, a closed output) cleans up like Ctrl-C, and a
 * build killed too hard to clean up (SIGKILL) leaves a partial image that the next build of the
 * same output deletes.
 */
let temp: ReturnType<typeof makeTempDir>;
let big: SyntheticMedia;
let overlay: string;

beforeAll(() => {
  temp = makeTempDir();
  // Big enough (about 150 MB) that the build is still streaming when the signal comes.
  big = createSyntheticRpiMedia({ dir: temp.dir, scale: 1.5, overlayCount: 20, apkCount: 10 });
  overlay = createOverlay(temp.dir, 'kiosk-hall');
});
afterAll(() => temp.cleanup());

const partials = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.partial'));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Start a build into a folder of its own; resolves once its partial image exists. */
async function startBuild(name: string, ...extra: string[]) {
  const dir = path.join(temp.dir, name);
  mkdirSync(dir);
  const output = path.join(dir, 'card.img');
  const child = startCli(['build', '--boot-media', big.tarball, '--overlay', overlay, '--output', output, ...extra]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exited = false;
  void exit.then(() => (exited = true));
  const partial = `.card.img.${child.pid}.partial`;
  await waitFor(() => exited || existsSync(path.join(dir, partial)), 'the partial image');
  expect(exited, `the build ended before it could be stopped: ${stderr}`).toBe(false);
  return { dir, output, child, exit, partial, out: () => stdout, err: () => stderr };
}

describe('a build stopped from outside', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)('on %s cleans up and exits with %i (128 + the signal)', async (signal, status) => {
    const build = await startBuild(signal.toLowerCase());
    build.child.kill(signal);
    expect(await build.exit).toBe(status);
    expect(build.err()).toMatch(new RegExp(`Stopping(?: \\(${signal}\\))?: cleaning up`));
    expect(build.err()).toMatch(/cancelled; nothing was left behind/);
    expect(readdirSync(build.dir)).toEqual([]);
  });

  it('when nobody reads its output any more (apkovl build --json | head -1), cleans up and exits with 141', async () => {
    const build = await startBuild('closed-output', '--json');
    await waitFor(() => build.out().includes('"name":"job.progress"'), 'a progress line');
    build.child.stdout.destroy();
    expect(await build.exit).toBe(141);
    expect(readdirSync(build.dir)).toEqual([]);
  });
});

describe('partial images left by a killed build', () => {
  it('are deleted by the next build of the same output when their process is gone', () => {
    const dir = path.join(temp.dir, 'stale');
    mkdirSync(dir);
    // A process that has exited: its pid is free.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = `.card.img.${dead}.partial`;
    // This test's process is alive: its partial belongs to a build still running.
    const live = `.card.img.${process.pid}.partial`;
    // Another output's, and names that only look like partials, are none of this build's business.
    const others = [`.other.img.${dead}.partial`, '.card.img.x1.partial', `card.img.${dead}.partial`];
    for (const name of [stale, live, ...others]) writeFileSync(path.join(dir, name), Buffer.alloc(4096));
    const result = runCli([
      'build',
      '--boot-media',
      big.tarball,
      '--overlay',
      overlay,
      '--output',
      path.join(dir, 'card.img'),
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['card.img', live, ...others].sort());
  });

  it('of SIGKILL are left, and the next build removes them', async () => {
    const build = await startBuild('killed');
    build.child.kill('SIGKILL');
    await build.exit;
    expect(partials(build.dir)).toEqual([build.partial]);
    const result = runCli(['build', '--boot-media', big.tarball, '--overlay', overlay, '--output', build.output]);
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(build.dir)).toEqual(['card.img']);
  });
});
