import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/requirements.js';
import { haveChromium, chromiumPath, openRenderer, type Harness } from '../helpers/renderer-harness.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const screenshots = path.resolve('test-results/screenshots');

describe.skipIf(missing(haveChromium, `Chromium at ${chromiumPath} (Debian package chromium)`))(
  `build screen in Chromium (${chromiumPath})`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let media: SyntheticMedia;
    let overlay: string;
    let harness: Harness;

    beforeAll(async () => {
      mkdirSync(screenshots, { recursive: true });
      temp = makeTempDir();
      media = createSyntheticRpiMedia({ dir: temp.dir, scale: 1.5, defaultApkovl: true });
      overlay = createOverlay(temp.dir, 'kiosk-hall');
      harness = await openRenderer();
    });
    afterAll(async () => {
      await harness.close();
      temp.cleanup();
    });

    it('shows the version from the main side and an empty form', async () => {
      const { page } = harness;
      await expect.poll(() => page.textContent('.app-header')).toMatch(/version test/);
      await page.screenshot({ path: path.join(screenshots, 'build-empty.png') });
    });

    it('says which fields are missing instead of starting', async () => {
      const { page } = harness;
      await page.getByRole('button', { name: 'Build image' }).click();
      await expect.poll(() => page.textContent('#machine-help')).toMatch(/Choose a machine definition/);
      expect(await page.textContent('#output-help')).toMatch(/Choose where to save the image/);
      expect(harness.events).toEqual([]);
    });

    it('builds an image with live progress, then shows what is on it', async () => {
      const { page } = harness;
      const output = path.join(temp.dir, 'gui.img');
      harness.dialogAnswers.push(media.tarball, output);
      await page.locator('#boot-media').locator('..').getByRole('button', { name: 'Browse…' }).click();
      await expect.poll(() => page.inputValue('#boot-media')).toBe(media.tarball);
      await page.fill('#machine', overlay);
      await page.locator('#output').locator('..').getByRole('button', { name: 'Browse…' }).click();
      await expect.poll(() => page.inputValue('#output')).toBe(output);
      await page.fill('#size', '1GiB');
      await page.getByRole('button', { name: 'Build image' }).click();
      await page.waitForSelector('[role=progressbar]');
      await page.screenshot({ path: path.join(screenshots, 'build-progress.png') });
      await page.waitForSelector('section[aria-label=Result]', { timeout: 60_000 });
      await page.screenshot({ path: path.join(screenshots, 'build-done.png'), fullPage: true });
      const result = await page.textContent('section[aria-label=Result]');
      expect(result).toMatch(/Card image ready/);
      expect(result).toMatch(/alpine-rpi-3\.22\.2/);
      expect(result).toMatch(/kiosk-hall\.apkovl\.tar\.gz/);
      expect(result).toMatch(/Removedalpine\.apkovl\.tar\.gz/);
      expect(existsSync(output)).toBe(true);
      const progress = harness.events.filter((event) => event.name === 'job.progress');
      expect(progress.length).toBeGreaterThan(1);
    });

    it('builds from a machine definition with its secrets file', async () => {
      const { page } = harness;
      const fixtures = path.resolve('test/fixtures/definitions');
      const output = path.join(temp.dir, 'from-definition.img');
      await page.fill('#machine', path.join(fixtures, 'users.yml'));
      await page.fill('#secrets', path.join(fixtures, 'secrets.yml'));
      await page.fill('#output', output);
      await page.fill('#size', '256MiB');
      await page.getByRole('button', { name: 'Build image' }).click();
      await page.waitForSelector('section[aria-label=Result]', { timeout: 60_000 });
      expect(await page.textContent('section[aria-label=Result]')).toMatch(/users\.apkovl\.tar\.gz/);
      expect(existsSync(output)).toBe(true);
    });

    it('explains a failure with where and what to do', async () => {
      const { page } = harness;
      await page.fill('#boot-media', overlay);
      await page.fill('#machine', overlay);
      await page.fill('#output', path.join(temp.dir, 'never.img'));
      await page.getByRole('button', { name: 'Build image' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      await page.screenshot({ path: path.join(screenshots, 'build-error.png'), fullPage: true });
      const text = await alert.textContent();
      expect(text).toMatch(/not Alpine boot media/);
      expect(text).toMatch(/What to do: use Alpine boot media such as/);
      expect(existsSync(path.join(temp.dir, 'never.img'))).toBe(false);
    });
  },
);
