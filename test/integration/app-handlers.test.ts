import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import type { Envelope } from '../../shared/ipc/contract.js';
import { createRouter } from '../../shared/ipc/router.js';
import { createAppHandlers, type AppHandlers, type AppHandlersOptions } from '../../main/app/app-handlers.js';
import { createRecentStore } from '../../main/app/recent-store.js';
import type { WorkerCommand } from '../../main/app/worker-command.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { parse } from 'yaml';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { buildImage } from '../../main/services/image/build-image.js';
import { signedBootRepository } from '../helpers/bios-iso.js';
import { missing } from '../helpers/requirements.js';
import { createFindfsIso, x86BootMissing } from '../helpers/x86-boot.js';

/**
 * The Electron main process's handler table (main/app/app-handlers.ts) with real `apkovl worker`
 * processes behind it (dist/cli/apkovl.mjs: npm run build first), fake dialogs in front, and a
 * fake elevation: a wrapper script that records that it ran, then runs the worker.
 */
const FILE = 'alpine-rpi-3.22.2-aarch64.tar.gz';
const MIRROR_PATH = `/alpine/v3.22/releases/aarch64/${FILE}`;

let temp: ReturnType<typeof makeTempDir>;
let media: SyntheticMedia;
let overlay: string;
let mirror: MirrorServer;
let cacheDir: string;

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build (npm test does)`);
  temp = makeTempDir();
  media = createSyntheticRpiMedia({ dir: temp.dir, scale: 1 });
  overlay = createOverlay(temp.dir, 'app-host');
  const keys = await makeSigningKeys();
  mirror = await startMirror(
    await mirrorFiles(
      [{ file: FILE, source: media.tarball, flavor: 'alpine-rpi', arch: 'aarch64', version: '3.22.2' }],
      keys.alpine.privateKey,
    ),
  );
  cacheDir = path.join(temp.dir, 'cache');
});
afterAll(async () => {
  await mirror.close();
  temp.cleanup();
});

const crashCacheDir = () => path.join(temp.dir, 'cache-crash');

const workerCommand: WorkerCommand = { command: process.execPath, args: [cliPath, 'worker'], env: {} };

/** The worker behind a shell that appends its pid to `marker` first (the pid stays: exec). */
function recordingWorker(marker: string): WorkerCommand {
  return {
    command: 'sh',
    args: ['-c', 'echo $$ >> "$APKOVL_TEST_MARKER"; exec "$@"', 'worker-wrapper', process.execPath, cliPath, 'worker'],
    env: { APKOVL_TEST_MARKER: marker },
  };
}
const pidsIn = (marker: string) =>
  existsSync(marker)
    ? readFileSync(marker, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map(Number)
    : [];
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const partials = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.partial'))
    : [];

const started: AppHandlers[] = [];
afterEach(async () => {
  mirror.faults.clear();
  await Promise.all(started.splice(0).map((app) => app.shutdown({ timeoutMs: 5000 })));
});

interface Harness {
  call: (command: string, input: unknown) => Promise<Envelope>;
  events: { name: string; payload: { jobId?: string } }[];
  saves: (string | null)[];
  opens: (string | null)[];
  elevations: () => number;
  app: AppHandlers;
}

function harness(overrides: Partial<AppHandlersOptions> = {}, recentDir = path.join(temp.dir, 'user-data')): Harness {
  const saves: (string | null)[] = [];
  const opens: (string | null)[] = [];
  const events: Harness['events'] = [];
  let elevations = 0;
  const elevated = overrides.elevated;
  const app = createAppHandlers({
    app: { name: 'Apkovl Studio', version: '0.0.0-test', platform: process.platform },
    deviceAccess: { mode: 'prompt', detail: 'your desktop asks for a password' },
    dialogs: {
      openFile: async () => opens.shift() ?? null,
      saveFile: async () => saves.shift() ?? null,
    },
    recent: createRecentStore({ directory: recentDir }),
    worker: () => workerCommand,
    // The crash test's worker is killed too hard to clean up: its cache is its own.
    allowedCacheDirs: [cacheDir, crashCacheDir()],
    ...overrides,
    elevated: async () => {
      elevations += 1;
      if (elevated === undefined) throw new Error('this test expected no elevation');
      return elevated();
    },
  });
  started.push(app);
  const router = createRouter(app.handlers, {
    onBug: (error) => {
      throw error;
    },
  });
  return {
    call: (command, input) =>
      router.handle(command, input, { emit: (name, payload) => events.push({ name, payload }) }),
    events,
    saves,
    opens,
    elevations: () => elevations,
    app,
  };
}

const buildInput = (output: string, jobId: string) => ({
  jobId,
  request: {
    source: { kind: 'apkovl', file: overlay },
    media: { kind: 'file', path: media.tarball },
    destination: { kind: 'image', path: output },
    card: { partitionBytes: 256 << 20 },
  },
});

const fetchInput = (jobId: string, dir = cacheDir) => ({
  jobId,
  query: { board: 'rpi', arch: 'aarch64', version: '3.22.2', mirrors: [`${mirror.url}/alpine`], cacheDir: dir },
});

/** Resolves once the job has sent a progress event (it is running in its worker). */
async function progressOf(events: Harness['events'], jobId: string): Promise<void> {
  await expect
    .poll(() => events.some((event) => event.name === 'job.progress' && event.payload.jobId === jobId), {
      timeout: 30_000,
      interval: 20,
    })
    .toBe(true);
}

describe('app handlers: jobs in workers', () => {
  it('builds a card image in the worker, with its progress, only where the Save dialog said', async () => {
    const app = harness();
    const output = path.join(temp.dir, 'card.img');
    const refused = await app.call('card.build', buildInput(output, 'build-1'));
    expect(refused).toMatchObject({
      ok: false,
      error: {
        code: 'usage',
        location: 'request.destination.path',
        message: expect.stringMatching(/Save dialog/) as unknown,
        hint: expect.stringMatching(/Save dialog/) as unknown,
      },
    });
    expect(existsSync(output)).toBe(false);

    app.saves.push(output);
    expect(await app.call('dialog.save-file', { title: 'Save the card image', defaultName: 'card.img' })).toEqual({
      ok: true,
      value: { path: output },
    });
    const built = await app.call('card.build', buildInput(output, 'build-2'));
    expect(built).toMatchObject({
      ok: true,
      value: { destination: { kind: 'image', path: output }, overlay: { fileName: 'app-host.apkovl.tar.gz' } },
    });
    expect(existsSync(output)).toBe(true);
    const progress = app.events.filter((event) => event.name === 'job.progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((event) => event.payload.jobId === 'build-2')).toBe(true);
    // An image file needs no administrator rights.
    expect(app.elevations()).toBe(0);
  });

  it('routes job.cancel to the worker running the job, which leaves nothing behind', async () => {
    const app = harness();
    mirror.faults.set(MIRROR_PATH, { stallAfter: 200_000 });
    const fetching = app.call('release.fetch', fetchInput('fetch-1'));
    await progressOf(app.events, 'fetch-1');
    expect(await app.call('job.cancel', { jobId: 'fetch-1' })).toEqual({ ok: true, value: { cancelled: true } });
    expect(await fetching).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(partials(cacheDir)).toEqual([]);
    expect(await app.call('job.cancel', { jobId: 'fetch-1' })).toEqual({ ok: true, value: { cancelled: false } });
  });

  it('refuses a download cache the window names', async () => {
    const app = harness();
    const elsewhere = path.join(temp.dir, 'elsewhere');
    expect(await app.call('release.fetch', fetchInput('fetch-2', elsewhere))).toMatchObject({
      ok: false,
      error: { code: 'usage', location: 'query.cacheDir' },
    });
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('says clearly when the worker dies mid-job, and starts a new one for the next request', async () => {
    const marker = path.join(temp.dir, 'crash-pids');
    const app = harness({ worker: () => recordingWorker(marker) });
    mirror.faults.set(MIRROR_PATH, { stallAfter: 200_000 });
    const fetching = app.call('release.fetch', fetchInput('fetch-3', crashCacheDir()));
    await progressOf(app.events, 'fetch-3');
    const [first] = pidsIn(marker);
    process.kill(first!, 'SIGKILL');
    expect(await fetching).toMatchObject({
      ok: false,
      error: { code: 'io', message: expect.stringMatching(/worker was stopped by SIGKILL/) as unknown },
    });
    const templates = await app.call('templates.list', {});
    expect(templates.ok).toBe(true);
    const pids = pidsIn(marker);
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(first);
  });

  it('on shutdown cancels running jobs, leaves no partial files and no worker process', async () => {
    const marker = path.join(temp.dir, 'shutdown-pids');
    const app = harness({ worker: () => recordingWorker(marker) });
    mirror.faults.set(MIRROR_PATH, { stallAfter: 200_000 });
    const fetching = app.call('release.fetch', fetchInput('fetch-4'));
    await progressOf(app.events, 'fetch-4');
    expect(partials(cacheDir).length).toBe(1);
    const [pid] = pidsIn(marker);
    expect(alive(pid!)).toBe(true);
    const started = Date.now();
    await app.app.shutdown({ timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await fetching).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(partials(cacheDir)).toEqual([]);
    expect(alive(pid!)).toBe(false);
    expect(await app.call('templates.list', {})).toMatchObject({
      ok: false,
      error: { code: 'cancelled', message: 'the app is quitting' },
    });
    expect(pidsIn(marker)).toEqual([pid]);
  });
});

describe('app handlers: device commands and elevation', () => {
  const identity = {
    path: '/dev/apkovl-test-missing',
    name: 'apkovl-test-missing',
    deviceNumber: '7:250',
    size: 1 << 30,
    logicalBlockSize: 512,
    model: 'loop device',
    serial: null,
    diskSequence: null,
    readOnly: false,
    removable: true,
  };
  const verifyDevice = (jobId: string) => ({
    jobId,
    request: { medium: { kind: 'device', path: '/dev/apkovl-test-missing' } },
  });

  it('sends device reads and writes to one elevated worker, asked for once, and the rest to the plain one', async () => {
    const marker = path.join(temp.dir, 'elevated-pids');
    const app = harness({ elevated: async () => recordingWorker(marker) });
    // Listing and describing drives read sysfs and lsblk: no rights needed, no prompt.
    expect((await app.call('drives.list', {})).ok).toBe(true);
    expect(await app.call('drive.describe', { device: '/dev/null' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
    expect(pidsIn(marker)).toEqual([]);
    expect(app.elevations()).toBe(0);

    const verified = await app.call('card.verify', verifyDevice('verify-1'));
    expect(verified.ok).toBe(false);
    expect(pidsIn(marker)).toHaveLength(1);
    const erased = await app.call('card.erase', {
      jobId: 'erase-1',
      request: { device: '/dev/apkovl-test-missing', confirmed: identity },
    });
    expect(erased).toMatchObject({ ok: false, error: { code: 'not-found' } });
    const built = await app.call('card.build', {
      jobId: 'build-device',
      request: {
        source: { kind: 'apkovl', file: overlay },
        media: { kind: 'file', path: media.tarball },
        destination: { kind: 'device', path: '/dev/apkovl-test-missing', confirmed: identity },
      },
    });
    expect(built.ok).toBe(false);
    // The same elevated worker answered all three: one prompt per session.
    expect(pidsIn(marker)).toHaveLength(1);
    expect(app.elevations()).toBe(1);
    expect(alive(pidsIn(marker)[0]!)).toBe(true);
  });

  it('refuses, before any prompt, a device job naming a file the user cannot read', async () => {
    const app = harness({ elevated: async () => recordingWorker(path.join(temp.dir, 'never-pids')) });
    const missing = path.join(temp.dir, 'no-such-media.tar.gz');
    expect(
      await app.call('card.build', {
        jobId: 'build-unreadable',
        request: {
          source: { kind: 'apkovl', file: overlay },
          media: { kind: 'file', path: missing },
          destination: { kind: 'device', path: '/dev/apkovl-test-missing', confirmed: identity },
        },
      }),
    ).toMatchObject({
      ok: false,
      error: {
        code: 'not-found',
        location: 'request.media.path',
        message: expect.stringContaining(missing) as unknown,
      },
    });
    expect(app.elevations()).toBe(0);
  });

  it('sends everything to the one worker when the app has the rights already', async () => {
    const marker = path.join(temp.dir, 'privileged-pids');
    const app = harness({ deviceAccess: { mode: 'privileged', detail: null }, worker: () => recordingWorker(marker) });
    expect((await app.call('card.verify', verifyDevice('verify-2'))).ok).toBe(false);
    expect((await app.call('templates.list', {})).ok).toBe(true);
    expect(pidsIn(marker)).toHaveLength(1);
    expect(app.elevations()).toBe(0);
  });

  it('refuses device commands, saying why, when the app cannot get the rights', async () => {
    const app = harness({ deviceAccess: { mode: 'unavailable', detail: 'pkexec (polkit) is not installed' } });
    expect(await app.call('card.verify', verifyDevice('verify-3'))).toMatchObject({
      ok: false,
      error: { code: 'io', hint: 'pkexec (polkit) is not installed' },
    });
    expect(app.elevations()).toBe(0);
  });

  it('reports a refused elevation as the mapped error, and asks again next time', async () => {
    const seen: { code: number | null; stderr: string }[] = [];
    const app = harness({
      elevated: async () => ({
        command: 'sh',
        args: ['-c', 'echo "Error executing command as another user: Request dismissed" >&2; exit 126'],
        env: {},
      }),
      describeElevatedExit: (exit, stderr) => {
        seen.push({ code: exit.code, stderr });
        return exit.code === 126
          ? new AppError('cancelled', 'the administrator password prompt was closed: no drive was touched', {
              hint: 'start again and enter an administrator password when asked',
            })
          : new AppError('io', 'unexpected');
      },
    });
    expect(await app.call('card.verify', verifyDevice('verify-4'))).toEqual({
      ok: false,
      error: {
        code: 'cancelled',
        message: 'the administrator password prompt was closed: no drive was touched',
        location: null,
        hint: 'start again and enter an administrator password when asked',
      },
    });
    expect(seen).toEqual([{ code: 126, stderr: 'Error executing command as another user: Request dismissed\n' }]);
    expect((await app.call('card.verify', verifyDevice('verify-5'))).ok).toBe(false);
    expect(app.elevations()).toBe(2);
  });
});

describe('app handlers: definitions and recent files', () => {
  const fixture = path.resolve('test/fixtures/definitions/kiosk.yml');

  it('saves definitions only where a dialog said, and lists those opened or saved, newest first', async () => {
    const recentDir = path.join(temp.dir, 'recent-user-data');
    const app = harness({}, recentDir);
    const yaml = readFileSync(fixture, 'utf8');
    const opened = path.join(temp.dir, 'opened.yml');
    copyFileSync(fixture, opened);
    const stranger = path.join(temp.dir, 'stranger.yml');
    copyFileSync(fixture, stranger);

    const refused = await app.call('definition.save', { path: stranger, yaml, secrets: {} });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'usage', location: 'path', hint: expect.stringMatching(/Save dialog/) as unknown },
    });
    // A path the window made up can be read, but that does not make it saveable or recent.
    expect((await app.call('definition.read', { path: stranger })).ok).toBe(true);
    expect((await app.call('definition.save', { path: stranger, yaml, secrets: {} })).ok).toBe(false);

    app.opens.push(opened);
    expect(await app.call('dialog.open-file', { title: 'Open', filters: [] })).toEqual({
      ok: true,
      value: { path: opened },
    });
    expect(await app.call('definition.read', { path: opened })).toMatchObject({ ok: true, value: { path: opened } });
    expect(await app.call('definition.save', { path: opened, yaml, secrets: {} })).toMatchObject({ ok: true });

    const created = path.join(temp.dir, 'created.yml');
    app.saves.push(created);
    await app.call('dialog.save-file', { title: 'Save', defaultName: 'created.yml' });
    const otherYaml = yaml.replace('hostname: kiosk-hall', 'hostname: lobby');
    expect(await app.call('definition.save', { path: created, yaml: otherYaml, secrets: {} })).toMatchObject({
      ok: true,
      value: { path: created },
    });
    expect(readFileSync(created, 'utf8')).toBe(otherYaml);

    const listed = await app.call('recent.list', {});
    expect(listed).toMatchObject({
      ok: true,
      value: {
        definitions: [
          { path: created, hostname: 'lobby' },
          { path: opened, hostname: 'kiosk-hall' },
        ],
      },
    });

    // Next session: a recent definition, read again, may be saved over.
    const next = harness({}, recentDir);
    expect((await next.call('definition.read', { path: opened })).ok).toBe(true);
    expect((await next.call('definition.save', { path: opened, yaml, secrets: {} })).ok).toBe(false);
    await next.call('recent.list', {});
    expect((await next.call('definition.read', { path: opened })).ok).toBe(true);
    expect((await next.call('definition.save', { path: opened, yaml, secrets: {} })).ok).toBe(true);
  });

  it('keeps the secrets file of an opened definition when it is saved elsewhere, and no other', async () => {
    const app = harness({}, path.join(temp.dir, 'recent-secrets'));
    const folder = path.join(temp.dir, 'with-secrets');
    mkdirSync(folder, { recursive: true });
    const opened = path.join(folder, 'users.yml');
    copyFileSync(path.resolve('test/fixtures/definitions/users.yml'), opened);
    copyFileSync(path.resolve('test/fixtures/definitions/secrets.yml'), path.join(folder, 'users.secrets.yml'));
    app.opens.push(opened);
    await app.call('dialog.open-file', { title: 'Open', filters: [] });
    const read = await app.call('definition.read', { path: opened });
    expect(read).toMatchObject({ ok: true, value: { secretsPath: path.join(folder, 'users.secrets.yml') } });
    const yaml = readFileSync(opened, 'utf8').replace(/^hostname: .*$/m, 'hostname: copied');

    const elsewhere = path.join(temp.dir, 'copied.yml');
    app.saves.push(elsewhere);
    await app.call('dialog.save-file', { title: 'Save', defaultName: 'copied.yml' });
    // Without the kept secrets, the ${secret:...} references cannot be resolved.
    expect((await app.call('definition.save', { path: elsewhere, yaml, secrets: {} })).ok).toBe(false);
    const saved = await app.call('definition.save', {
      path: elsewhere,
      yaml,
      secrets: { wifi_hall: 'a new passphrase' },
      keepSecretsFrom: path.join(folder, 'users.secrets.yml'),
    });
    expect(saved).toMatchObject({ ok: true, value: { secretsPath: path.join(temp.dir, 'copied.secrets.yml') } });
    const kept = parse(readFileSync(path.join(temp.dir, 'copied.secrets.yml'), 'utf8')) as Record<string, string>;
    expect(kept).toMatchObject({ wifi_hall: 'a new passphrase', admin_password: 's3cret pass' });
    expect(statSync(path.join(temp.dir, 'copied.secrets.yml')).mode & 0o777).toBe(0o600);
    expect(runCli(['validate', elsewhere, '--secrets', path.join(temp.dir, 'copied.secrets.yml')]).status).toBe(0);

    // A secrets file of a definition never opened in the app is not carried anywhere.
    const stranger = path.join(temp.dir, 'stranger.secrets.yml');
    copyFileSync(path.resolve('test/fixtures/definitions/secrets.yml'), stranger);
    expect(
      await app.call('definition.save', { path: elsewhere, yaml, secrets: {}, keepSecretsFrom: stranger }),
    ).toMatchObject({ ok: false, error: { code: 'usage', location: 'keepSecretsFrom' } });
  });
});

describe('Try in QEMU from the app (machine.try-check, machine.try)', () => {
  const reasons = x86BootMissing(['uefi']);
  it.skipIf(missing(reasons.length === 0, reasons.join('; ')))(
    'boots an image the app saved, in the worker, and refuses a path the app was not given',
    async () => {
      const dir = path.join(temp.dir, 'try');
      mkdirSync(dir, { recursive: true });
      const repository = signedBootRepository(dir);
      const iso = createFindfsIso({ dir, extraFiles: repository.files });
      const image = path.join(dir, 'stick.img');
      await buildImage({
        bootMedia: iso.iso,
        overlay: createOverlay(dir, 'tried', { 'etc/.default_boot_services': '' }),
        output: image,
        partitionBytes: 40 << 20,
        firmware: 'bios-uefi',
        apkKeys: [repository.keyFile],
      });
      const { call, saves, events } = harness();
      const check = await call('machine.try-check', { kind: 'image', arch: 'x86_64' });
      expect(check).toEqual({ ok: true, value: expect.objectContaining({ available: true, reason: null }) });
      const pi = await call('machine.try-check', { kind: 'image', arch: 'aarch64' });
      expect(pi).toMatchObject({
        ok: true,
        value: { available: false, reason: expect.stringMatching(/Raspberry Pi/) },
      });

      const request = { target: image, display: false, disk: 'virtio', kvm: false };
      const refused = await call('machine.try', { jobId: 'try-1', request });
      expect(refused).toMatchObject({ ok: false, error: { code: 'usage', location: 'request.target' } });

      saves.push(image);
      await call('dialog.save-file', { title: 'Save the image', defaultName: 'stick.img' });
      const before = statSync(image).mtimeMs;
      const tried = await call('machine.try', { jobId: 'try-2', request });
      expect(tried, JSON.stringify(tried)).toEqual({ ok: true, value: { mode: 'image', exitCode: 0, hostname: null } });
      expect(events.some((event) => event.name === 'job.note' && event.payload.jobId === 'try-2')).toBe(true);
      expect(statSync(image).mtimeMs).toBe(before); // snapshot mode: the image is not changed
    },
    240_000,
  );
});
