import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fsckFat, mtoolsPaths } from '../helpers/external-tools.js';
import { describeWithLoopDevices, dropDeviceCache, LoopDevices, sfdiskDump } from '../helpers/loop-devices.js';
import { startMirror, type MirrorServer } from '../helpers/mirror-server.js';
import { missing } from '../helpers/requirements.js';
import { chromiumPath, haveChromium, openRenderer, type Harness } from '../helpers/renderer-harness.js';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';
import { makeSigningKeys, mirrorFiles } from '../helpers/synthetic-mirror.js';
import { makeApkKey, syntheticApkRepo } from '../helpers/synthetic-apk-repo.js';
import { kioskRepositories } from '../helpers/offline-repo.js';
import { makeTempDir } from '../helpers/temp.js';
import { throttleUnavailable } from '../helpers/throttle.js';
import { listDrives } from '../../main/services/drives/drive-service.js';
import { BOOTED_KIOSK_REPORT, flipByte, mcopyTo } from '../helpers/verify-cards.js';
import { focused, shot } from './screens.js';

/**
 * The app as a user drives it, on a real block device: a loop device over a sparse file plays
 * the SD card, a loopback mirror plays Alpine's (releases signed with a test key the harness
 * trusts, as --trusted-key would, and a signed package repository with everything the kiosk
 * needs, trusted as --apk-key would), and the download cache is private to this file.
 */
const MiB = 1024 * 1024;
const FILE = 'alpine-rpi-3.22.2-aarch64.tar.gz';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs me@laptop';
let temp: ReturnType<typeof makeTempDir>;
let mirror: MirrorServer;
let harness: Harness;
let target: string;
let cacheDir: string;
let apkKeyFile: string;
const loops = new LoopDevices();

/**
 * Move this process into a blkio group that writes `target` as slowly as a card, and restart the
 * app's workers so that they start inside it (children join their parent's group). The returned
 * function moves this process back, restarts the workers outside, and removes the group.
 */
async function throttleWorkers(
  harness: Harness,
  device: string,
  writeBytesPerSecond: number,
): Promise<() => Promise<void>> {
  const number = readFileSync(path.join('/sys/block', path.basename(device), 'dev'), 'utf8').trim();
  const root = '/sys/fs/cgroup/blkio';
  const before = /^\d+:blkio:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  const group = path.join(root, `apkovl-e2e-${process.pid}`);
  mkdirSync(group, { recursive: true });
  writeFileSync(path.join(group, 'blkio.throttle.write_bps_device'), `${number} ${writeBytesPerSecond}`);
  writeFileSync(path.join(group, 'blkio.throttle.read_bps_device'), `${number} ${writeBytesPerSecond * 2}`);
  writeFileSync(path.join(group, 'cgroup.procs'), String(process.pid));
  await harness.restartWorkers();
  return async () => {
    writeFileSync(path.join(root, before, 'cgroup.procs'), String(process.pid));
    await harness.restartWorkers();
    rmdirSync(group);
  };
}

/**
 * From any screen back to Target for the kiosk definition made earlier (still open), with the
 * cached media from the mirror, and loop devices shown.
 */
async function againToTarget(page: Harness['page']): Promise<void> {
  await page.locator('.app-header').getByRole('button', { name: 'Home' }).click();
  await page.getByRole('button', { name: /Create a card/ }).click();
  await expect.poll(() => page.inputValue('#hostname')).toBe('kiosk-hall');
  await page.getByRole('button', { name: 'Next: Alpine' }).click();
  await page.fill('#mirror', `${mirror.url}/alpine`);
  await expect.poll(() => page.textContent('.media-status')).toMatch(/In the cache/);
  await page.getByRole('button', { name: 'Next: Target' }).click();
  await page.getByLabel(/Show loop devices/).check();
}

/** Every file under `directory` whose name ends in .partial. */
function partials(directory: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const full = path.join(folder, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.partial')) found.push(full);
    }
  };
  walk(directory);
  return found;
}

/** A copy of the first `bytes` of the device as an image file. */
function copyDevice(device: string, file: string, bytes: number): void {
  dropDeviceCache(device);
  execFileSync('dd', [`if=${device}`, `of=${file}`, 'bs=1M', `count=${bytes / MiB}`, 'conv=sparse', 'status=none']);
}

describeWithLoopDevices('the app writes and verifies a card on a loop device', () => {
  if (missing(haveChromium, `Chromium at ${chromiumPath} (Debian package chromium)`)) {
    it.skip(`needs Chromium at ${chromiumPath}`, () => undefined);
    return;
  }
  beforeAll(async () => {
    temp = makeTempDir();
    cacheDir = path.join(temp.dir, 'cache');
    const media = createSyntheticRpiMedia({ dir: path.join(temp.dir, 'media'), scale: 0.3 });
    const keys = await makeSigningKeys();
    const trustedKeyFile = path.join(temp.dir, 'release-key.asc');
    writeFileSync(trustedKeyFile, keys.alpine.armoredPublic);
    const apkKey = makeApkKey('apkovl-e2e@example.org-0e2e0e2e.rsa.pub');
    apkKeyFile = path.join(temp.dir, apkKey.name);
    writeFileSync(apkKeyFile, apkKey.publicPem);
    const packages = syntheticApkRepo({
      branch: 'v3.22',
      arch: 'aarch64',
      repositories: kioskRepositories(),
      key: apkKey,
    });
    mirror = await startMirror(
      new Map([
        ...(await mirrorFiles(
          [{ file: FILE, source: media.tarball, flavor: 'alpine-rpi', arch: 'aarch64', version: '3.22.2' }],
          keys.alpine.privateKey,
        )),
        ...packages.files,
      ]),
    );
    const backing = path.join(temp.dir, 'card.bin');
    writeFileSync(backing, '');
    truncateSync(backing, 600 * MiB);
    target = loops.attach(backing);
    harness = await openRenderer({ env: { APKOVL_CACHE_DIR: cacheDir }, trustedKeyFile, apkKeyFile });
  });
  afterAll(async () => {
    await harness?.close();
    await mirror?.close();
    loops.detachAll();
    temp?.cleanup();
  });

  it('creates an offline kiosk card: template, Alpine and its packages from the mirror, the loop device, confirm, write, result', async () => {
    const { page } = harness;
    await page.getByRole('button', { name: /Create a card/ }).click();
    await page.getByRole('button', { name: 'Pi kiosk' }).click();
    await expect.poll(() => page.inputValue('#hostname')).toBe('kiosk-hall');
    await page.fill('#sshKey', KEY);
    await page.fill('#kioskUrl', 'https://departures.example/hall');
    // alpine.offline stays on (the template's default); its packages come from the test mirror.
    await page.getByRole('tab', { name: /YAML/ }).click();
    const yaml = await page.inputValue('#yaml');
    expect(yaml).toMatch(/^ {2}offline: true/m);
    await page.fill('#yaml', yaml.replace(/^alpine:\n/m, `alpine:\n  mirror: ${mirror.url}/alpine\n`));
    await page.getByRole('tab', { name: /Form/ }).click();
    const definition = path.join(temp.dir, 'kiosk-hall.yml');
    harness.dialogAnswers.push(definition);
    await page.getByRole('button', { name: 'Next: Alpine' }).click();

    // Alpine: the mirror's releases for aarch64, not cached, then downloaded with progress.
    await page.getByRole('heading', { name: 'Alpine boot media' }).waitFor();
    expect(await focused(page)).toMatch(/^H2 Alpine boot media/);
    // The machine's packages, resolved against the signed indexes: count and size before writing.
    await expect
      .poll(() => page.textContent('.packages-status'), { timeout: 30_000 })
      .toMatch(/^\d+ packages, [\d.]+ MiB go on the card with their signed indexes \(main, community of v3\.22\)/);
    const counted = /^(\d+) packages/.exec((await page.textContent('.packages-status')) ?? '')?.[1];
    await page.fill('#mirror', `${mirror.url}/alpine`);
    await expect.poll(() => page.textContent('#release')).toContain(FILE);
    await expect.poll(() => page.textContent('.media-status')).toMatch(/Not downloaded/);
    await shot(page, 'alpine-not-cached');
    await page.getByRole('button', { name: 'Download now' }).click();
    await expect.poll(() => page.textContent('.media-status'), { timeout: 60_000 }).toMatch(/In the cache/);
    await shot(page, 'alpine-cached');
    const downloads = harness.events.filter(
      (event) => event.name === 'job.progress' && (event.payload as { jobId: string }).jobId.startsWith('fetch-'),
    );
    expect(downloads.length).toBeGreaterThan(0);
    expect(mirror.requests.some((request) => request.path.endsWith(FILE))).toBe(true);
    await page.getByRole('button', { name: 'Next: Target' }).click();

    // Target: nothing chosen; the machine's own disk listed but disabled with its reason.
    await page.getByRole('heading', { name: 'Choose the card' }).waitFor();
    await page.locator('input[name=drive]').first().waitFor();
    expect(await page.locator('input[name=drive]:checked').count()).toBe(0);
    // Every drive that may not be written is disabled and says why; this machine's disk among them.
    const disabled = page.locator('input[name=drive]:disabled');
    expect(await disabled.count()).toBeGreaterThan(0);
    // The drives the classification says hold this system (found by the rules, never named here).
    for (const { device } of (await listDrives()).filter((drive) => drive.system)) {
      const id = `drive-${device.replace(/\//g, '-')}`;
      expect(await page.locator(`#${id}`).isDisabled()).toBe(true);
      expect(await page.textContent(`#${id}-status`)).toMatch(/Cannot be chosen:It holds the running system/);
    }
    expect(await page.locator(`#drive-${target.replace(/\//g, '-')}`).count()).toBe(0);
    await shot(page, 'target-drives');
    await page.getByLabel(/Show loop devices/).check();
    const loop = page.locator(`#drive-${target.replace(/\//g, '-')}`);
    await loop.waitFor();
    expect(await loop.isChecked()).toBe(false);
    await shot(page, 'target-loop-devices');
    await loop.check();
    await page.getByRole('button', { name: 'Next: Confirm' }).click();

    // Confirm: what will be erased, and how the rights are got.
    await page.getByRole('heading', { name: 'Erase this drive?' }).waitFor();
    await expect.poll(() => page.textContent('main')).toContain(target);
    expect(await page.textContent('main')).toMatch(/600 MiB/);
    expect(await page.textContent('main')).toMatch(/may write drives already/);
    expect(await page.locator('#confirm-name').count()).toBe(0);
    await shot(page, 'confirm');
    await page.getByRole('button', { name: 'Erase and write' }).click();

    await page.getByRole('heading', { name: 'Writing the card' }).waitFor();
    // The packages are fetched (by the unprivileged worker) as their own step, before the build.
    await expect
      .poll(() => page.locator('li.phase').first().getAttribute('aria-label'), { timeout: 60_000 })
      .toMatch(/^Download: (done|skipped)/);
    await expect
      .poll(() => page.textContent('li[aria-label^="Packages"]'), { timeout: 60_000 })
      .toMatch(/for the card's apk cache, verified/);
    await shot(page, 'write-packages');
    await page.getByRole('heading', { name: 'The card is ready' }).waitFor({ timeout: 120_000 });
    expect(await focused(page)).toMatch(/^H2 The card is ready/);
    await shot(page, 'result-card');
    const result = await page.textContent('main');
    expect(result).toMatch(/Raspberry Pi 3, 4, 400 or 5/);
    expect(result).toMatch(/ssh admin@kiosk-hall/);
    expect(result).toMatch(/from the drive, not a cache/);
    const phases = new Set(
      harness.events
        .filter((event) => event.name === 'job.progress')
        .map((event) => (event.payload as { progress: { phase: string } }).progress.phase),
    );
    expect([...phases]).toEqual(expect.arrayContaining(['download', 'build', 'write', 'verify']));

    // The bytes on the device, as tools nobody here wrote read them.
    dropDeviceCache(target);
    // The definition sets no partition size: the whole drive from 1 MiB, not 512 MiB.
    expect(sfdiskDump(target).dump).toMatch(/start=\s+2048, size=\s+1226752, type=c, bootable/);
    expect(fsckFat(target, MiB, 599 * MiB).status).toBe(0);
    const image = path.join(temp.dir, 'written.img');
    copyDevice(target, image, 600 * MiB);
    const files = mtoolsPaths(image);
    expect(files).toContain('kiosk-hall.apkovl.tar.gz');
    expect(files).not.toContain('alpine.apkovl.tar.gz');
    // The offline packages in the card's apk cache: every resolved one (none is on these media)
    // and the two signed indexes, chromium among them, fetched once, by the packages step.
    const cache = files.filter((name) => name.startsWith('cache/'));
    expect(cache.filter((name) => name.endsWith('.apk'))).toHaveLength(Number(counted));
    expect(cache.filter((name) => name.startsWith('cache/APKINDEX.'))).toHaveLength(2);
    expect(cache.some((name) => name.startsWith('cache/chromium-141.0.7390.65-r0.'))).toBe(true);
    expect(mirror.requests.filter((request) => request.path.endsWith('/chromium-141.0.7390.65-r0.apk'))).toHaveLength(
      1,
    );
  });

  it('verifies the good card against its definition, and a corrupted copy', async () => {
    const { page } = harness;
    await page.getByRole('button', { name: 'Verify a card' }).click();
    await page.getByRole('heading', { name: 'Verify a card' }).waitFor();
    expect(await focused(page)).toMatch(/^H2 Verify a card/);
    await page.getByLabel('Show loop devices').check();
    const loop = page.locator(`#drive-${target.replace(/\//g, '-')}`);
    await loop.waitFor();
    expect(await loop.isChecked()).toBe(false);
    await loop.check();
    // The definition just written is offered for the comparison.
    expect(await page.textContent('main')).toContain('kiosk-hall.yml');
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    const report = page.getByRole('region', { name: 'Verification report' });
    await report.waitFor({ timeout: 60_000 });
    await shot(page, 'verify-good');
    const good = await report.textContent();
    expect(good).toMatch(/^Good/);
    expect(good).toMatch(/kiosk-hall\.apkovl\.tar\.gz/);
    expect(good).toMatch(/The apkovl is exactly what this definition makes/);
    expect(good).toMatch(/has not reported a boot yet/);
    expect(await page.locator('.check').count()).toBeGreaterThan(4);

    const corrupted = path.join(temp.dir, 'corrupted.img');
    copyDevice(target, corrupted, 600 * MiB);
    await flipByte(corrupted, 'kiosk-hall.apkovl.tar.gz', 200);
    await page.getByLabel('An image file').check();
    harness.dialogAnswers.push(corrupted);
    await page.getByRole('button', { name: 'Choose image…' }).click();
    await expect.poll(() => page.textContent('.picked')).toContain('corrupted.img');
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await expect.poll(() => page.textContent('.verdict'), { timeout: 60_000 }).toMatch(/^Damaged/);
    await shot(page, 'verify-damaged');
    expect(await page.locator('.check.failed').count()).toBeGreaterThan(0);
    expect(await report.textContent()).toMatch(/kiosk-hall\.apkovl\.tar\.gz/);

    // A card the machine booted from: its first-boot report is shown.
    const booted = path.join(temp.dir, 'booted.img');
    copyDevice(target, booted, 600 * MiB);
    const json = path.join(temp.dir, 'apkovl-report.json');
    writeFileSync(json, JSON.stringify(BOOTED_KIOSK_REPORT));
    mcopyTo(booted, json, 'apkovl-report.json', Math.floor(Date.now() / 1000) + 3600);
    harness.dialogAnswers.push(booted);
    await page.getByRole('button', { name: 'Choose image…' }).click();
    await expect.poll(() => page.textContent('.picked')).toContain('booted.img');
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await expect.poll(() => page.textContent('.verdict'), { timeout: 60_000 }).toMatch(/^Good, changed/);
    await shot(page, 'verify-first-boot');
    const text = await page.textContent('.first-boot');
    expect(text).toMatch(/booted on a Raspberry Pi 4 Model B Rev 1\.4 on 2026-11-28 10:02 UTC as kiosk-hall/);
    expect(text).toMatch(/eth0 192\.168\.1\.23/);
    expect(text).toMatch(/2 packages missing: chromium, cage/);
  });

  it('follows drives plugged in and out, and asks for the name of a drive over 128 GB', async () => {
    const { page } = harness;
    await againToTarget(page);
    await page.locator(`#drive-${target.replace(/\//g, '-')}`).waitFor();

    // A 200 GB "stick" plugged in while the list is shown (a sparse file: nothing is written to it).
    const backing = path.join(temp.dir, 'large.bin');
    writeFileSync(backing, '');
    truncateSync(backing, 200e9);
    const large = loops.attach(backing);
    const id = `#drive-${large.replace(/\//g, '-')}`;
    await page.locator(id).waitFor({ timeout: 10_000 });
    expect(await page.isChecked(id)).toBe(false);
    expect(await page.textContent(`${id}-status`)).toMatch(/Needs an extra confirmation/);
    await shot(page, 'target-hot-plugged');
    await page.check(id);
    await page.getByRole('button', { name: 'Next: Confirm' }).click();
    await page.locator('#confirm-name').waitFor();
    const erase = page.getByRole('button', { name: 'Erase and write' });
    expect(await erase.isDisabled()).toBe(true);
    await page.fill('#confirm-name', 'sda');
    expect(await page.getAttribute('#confirm-name', 'aria-invalid')).toBe('true');
    expect(await erase.isDisabled()).toBe(true);
    await shot(page, 'confirm-large-wrong-name');
    await page.fill('#confirm-name', path.basename(large));
    expect(await erase.isDisabled()).toBe(false);
    await shot(page, 'confirm-large');
    await page.getByRole('button', { name: 'Back' }).click();

    // Pulled out: it disappears, and is no longer chosen.
    await page.getByLabel(/Show loop devices/).check();
    await page.locator(id).waitFor();
    await page.check(id);
    loops.detach(large);
    await page.locator(id).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Next: Confirm' }).isDisabled()).toBe(true);
  });

  it('downloads in the Write step when the media are not cached, and a cancel there leaves no .partial file', async () => {
    const fresh = path.join(temp.dir, 'fresh-cache');
    const other = await openRenderer({
      env: { APKOVL_CACHE_DIR: fresh },
      trustedKeyFile: path.join(temp.dir, 'release-key.asc'),
    });
    const { page } = other;
    try {
      // The mirror sends 4 MiB, then nothing: the download is under way when it is cancelled.
      mirror.faults.set(`/alpine/v3.22/releases/aarch64/${FILE}`, { stallAfter: 4 * MiB });
      await page.getByRole('button', { name: /Create a card/ }).click();
      other.dialogAnswers.push(path.join(temp.dir, 'kiosk-hall.yml'));
      await page.getByRole('button', { name: 'Open .yml…' }).click();
      // A new harness: its first worker starts now (slow while other suites run).
      await expect.poll(() => page.inputValue('#hostname'), { timeout: 15_000 }).toBe('kiosk-hall');
      await page.getByRole('button', { name: 'Next: Alpine' }).click();
      await page.fill('#mirror', `${mirror.url}/alpine`);
      await expect.poll(() => page.textContent('.media-status')).toMatch(/Not downloaded/);
      await page.getByRole('button', { name: 'Next: Target' }).click();
      const image = path.join(temp.dir, 'never.img');
      other.dialogAnswers.push(image);
      await page.getByRole('button', { name: 'Save as image file…' }).click();
      await page.locator('li[aria-label="Download: active"] [role=progressbar]').waitFor({ timeout: 30_000 });
      await shot(page, 'write-download');
      expect(await page.textContent('li[aria-label="Download: active"]')).toMatch(/[KM]iB of 30\.4 MiB/);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('heading', { name: 'Cancelled' }).waitFor({ timeout: 30_000 });
      expect(await page.textContent('main')).toMatch(/Stopped during the download step\. Nothing was written/);
      expect(partials(fresh)).toEqual([]);
      expect(existsSync(image)).toBe(false);
    } finally {
      mirror.faults.clear();
      await other.close();
    }
  });

  it.skipIf(missing(throttleUnavailable() === null, 'cgroup v1 blkio throttling (to write as slowly as a card)'))(
    'cancels mid-write: the card does not look valid afterwards and no .partial file is left',
    async () => {
      const { page } = harness;
      await againToTarget(page);
      await page.locator(`#drive-${target.replace(/\//g, '-')}`).check();
      await page.getByRole('button', { name: 'Next: Confirm' }).click();
      await page.getByRole('heading', { name: 'Erase this drive?' }).waitFor();
      await expect.poll(() => page.textContent('main')).toMatch(/KIOSK-HALL/);
      const release = await throttleWorkers(harness, target, 5e6);
      try {
        await page.getByRole('button', { name: 'Erase and write' }).click();
        // Writing the boot files, with bytes, speed and time left (the first events have no speed yet).
        await expect
          .poll(
            () =>
              page
                .locator('li[aria-label="Write: active"]')
                .textContent()
                .catch(() => ''),
            {
              timeout: 60_000,
              interval: 100,
            },
          )
          .toMatch(/Writing boot files.*MiB of .* · .*MB\/s · \d+:\d\d left/);
        await shot(page, 'write-progress');
        await page.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('heading', { name: 'Cancelled' }).waitFor({ timeout: 60_000 });
      } finally {
        await release();
      }
      await shot(page, 'result-cancelled');
      expect(await page.textContent('main')).toMatch(/Stopped during the write step/);
      dropDeviceCache(target);
      expect(sfdiskDump(target).dump).toBeNull();
      expect(fsckFat(target, MiB, 599 * MiB).status).not.toBe(0);
      expect(partials(temp.dir)).toEqual([]);
    },
  );
});
