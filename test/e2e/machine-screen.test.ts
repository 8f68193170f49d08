import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/requirements.js';
import { runCli } from '../helpers/cli.js';
import { haveChromium, chromiumPath, openRenderer, type Harness } from '../helpers/renderer-harness.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const screenshots = path.resolve('test-results/screenshots');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs me@laptop';

describe.skipIf(missing(haveChromium, `Chromium at ${chromiumPath} (Debian package chromium)`))(
  `machine screen in Chromium (${chromiumPath})`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let harness: Harness;
    let media: SyntheticMedia;

    beforeAll(async () => {
      mkdirSync(screenshots, { recursive: true });
      temp = makeTempDir();
      media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05 });
      harness = await openRenderer();
      await harness.page.getByRole('tab', { name: 'Machine' }).click();
    });
    afterAll(async () => {
      await harness.close();
      temp.cleanup();
    });

    it('checks the fields with the schema the CLI uses', async () => {
      const { page } = harness;
      await page.fill('#hostname', 'bad_host');
      await page.fill('#wifiSsid', 'Hall');
      await expect.poll(() => page.textContent('#hostname-error')).toMatch(/not a valid host label/);
      expect(await page.textContent('#wifiCountry-error')).toMatch(/two-letter country code/);
      await page.screenshot({ path: path.join(screenshots, 'machine-errors.png'), fullPage: true });
      expect(await page.getByRole('button', { name: 'Save definition…' }).isDisabled()).toBe(true);
    });

    it('saves a valid definition and its secrets, which the CLI accepts, and hands it to Build', async () => {
      const { page } = harness;
      await page.fill('#hostname', 'kiosk-hall');
      await page.fill('#version', '3.22.2');
      await page.fill('#wifiPassphrase', 'correct horse battery');
      await page.fill('#wifiCountry', 'DE');
      await page.fill('#sshKey', KEY);
      await page.check('#kiosk');
      await page.fill('#kioskUrl', 'https://departures.example/hall');
      await page.check('#apkCache');
      await expect.poll(() => page.textContent('pre.yaml')).toMatch(/url: https:\/\/departures\.example\/hall/);
      expect(await page.textContent('pre.yaml')).not.toContain('correct horse');
      await page.screenshot({ path: path.join(screenshots, 'machine-valid.png'), fullPage: true });

      const file = path.join(temp.dir, 'kiosk-hall.yml');
      harness.dialogAnswers.push(file);
      await page.getByRole('button', { name: 'Save definition…' }).click();
      await expect.poll(() => page.inputValue('#machine')).toBe(file);
      const secrets = path.join(temp.dir, 'kiosk-hall.secrets.yml');
      expect(parse(readFileSync(secrets, 'utf8'))).toEqual({ wifi_passphrase: 'correct horse battery' });
      expect(statSync(secrets).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toContain('psk: ${secret:wifi_passphrase}');
      const validated = runCli(['validate', file, '--secrets', secrets]);
      expect(validated.status, validated.stderr).toBe(0);
      expect(await page.inputValue('#secrets')).toBe(secrets);

      const output = path.join(temp.dir, 'from-form.img');
      await page.fill('#boot-media', media.tarball);
      await page.fill('#output', output);
      await page.fill('#size', '128MiB');
      await page.getByRole('button', { name: 'Build image' }).click();
      await page.waitForSelector('section[aria-label=Result]', { timeout: 60_000 });
      await page.screenshot({ path: path.join(screenshots, 'machine-built.png'), fullPage: true });
      expect(await page.textContent('section[aria-label=Result]')).toMatch(/kiosk-hall\.apkovl\.tar\.gz/);
      expect(existsSync(output)).toBe(true);
    });
  },
);
