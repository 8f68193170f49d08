import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { sfdiskJson } from '../helpers/external-tools.js';
import { missing } from '../helpers/requirements.js';
import { chromiumPath, haveChromium, openRenderer, type Harness } from '../helpers/renderer-harness.js';
import { createOverlay, createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { focused, shot } from './screens.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs me@laptop';

describe.skipIf(missing(haveChromium, `Chromium at ${chromiumPath} (Debian package chromium)`))(
  `the app's machine screen and an image file, in Chromium (${chromiumPath})`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let harness: Harness;
    let media: SyntheticMedia;

    beforeAll(async () => {
      temp = makeTempDir();
      media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05, overlayCount: 20, apkCount: 10 });
      harness = await openRenderer({ env: { APKOVL_CACHE_DIR: path.join(temp.dir, 'cache') } });
    });
    afterAll(async () => {
      await harness.close();
      temp.cleanup();
    });

    it('starts at Home with the version, and Create a card moves focus to the Machine heading', async () => {
      const { page } = harness;
      await expect.poll(() => page.textContent('.app-header')).toMatch(/version test/);
      await expect.poll(() => page.textContent('main')).toMatch(/None yet/);
      await shot(page, 'home-empty');
      await page.getByRole('button', { name: /Create a card/ }).click();
      await page.getByRole('heading', { name: 'Describe the machine' }).waitFor();
      expect(await focused(page)).toMatch(/^H2 Describe the machine/);
    });

    it('shows invalid input at the field, with aria-invalid and the message it points to', async () => {
      const { page } = harness;
      await page.fill('#hostname', 'bad_host');
      await page.fill('#wifiSsid', 'Hall');
      await expect.poll(() => page.getAttribute('#hostname', 'aria-invalid')).toBe('true');
      expect(await page.getAttribute('#hostname', 'aria-describedby')).toBe('hostname-error');
      expect(await page.textContent('#hostname-error')).toMatch(/not a valid host label/);
      expect(await page.getAttribute('#wifiCountry', 'aria-invalid')).toBe('true');
      expect(await page.textContent('#wifiCountry-error')).toMatch(/two-letter country code/);
      await page.fill('#ethernetMac', '52:54:00');
      await expect.poll(() => page.getAttribute('#ethernetMac', 'aria-invalid')).toBe('true');
      expect(await page.textContent('#ethernetMac-error')).toMatch(/not a MAC address/);
      await page.fill('#ethernetMac', '');
      await expect.poll(() => page.getAttribute('#ethernetMac', 'aria-invalid')).not.toBe('true');
      await shot(page, 'machine-errors');
      // Nothing is saved while it is invalid: no dialog opens.
      await page.getByRole('button', { name: 'Next: Alpine' }).click();
      await expect.poll(() => page.textContent('.status-line')).toMatch(/Fix the problems/);
      expect(harness.dialogs).toEqual([]);
    });

    it('the YAML tab shows every problem with its line, and the form waits for YAML it can read', async () => {
      const { page } = harness;
      await page.getByRole('tab', { name: /YAML/ }).click();
      const yaml = await page.inputValue('#yaml');
      expect(yaml).toMatch(/hostname: "?bad_host"?/);
      expect(await page.textContent('#yaml-issues')).toMatch(/Line \d+: hostname: .*not a valid host label/);
      await shot(page, 'machine-yaml-errors');
      await page.fill('#yaml', `${yaml}\nnot: [closed\n`);
      await expect.poll(() => page.textContent('#yaml-issues')).toMatch(/Line \d+/);
      await page.getByRole('tab', { name: /Form/ }).click();
      await expect.poll(() => page.textContent('#panel-form')).toMatch(/Fix it in the YAML tab/);
      await page.getByRole('tab', { name: /YAML/ }).click();
      await page.fill('#yaml', yaml.replace('bad_host', 'kiosk-hall'));
      await page.getByRole('tab', { name: /Form/ }).click();
      await expect.poll(() => page.inputValue('#hostname')).toBe('kiosk-hall');
    });

    it('starts from the Pi kiosk template, keeps what the form does not show, and saves it through the dialog', async () => {
      const { page } = harness;
      await page.getByRole('button', { name: 'Pi kiosk' }).click();
      await expect.poll(() => page.inputValue('#hostname')).toBe('kiosk-hall');
      expect(await page.isChecked('#kiosk')).toBe(true);
      await page.fill('#sshKey', KEY);
      await page.fill('#kioskUrl', 'https://departures.example/hall');
      await page.fill('#wifiPassphrase', 'correct horse battery');
      // The test mirror serves no package repository (and the app cannot pass --apk-key yet): this
      // card leaves alpine.offline off and installs its packages at first boot, as before issue 9.
      await page.getByRole('tab', { name: /YAML/ }).click();
      await page.fill('#yaml', (await page.inputValue('#yaml')).replace('offline: true', 'offline: false'));
      await page.getByRole('tab', { name: /Form/ }).click();
      await expect.poll(() => page.locator('[aria-invalid=true]').count()).toBe(0);
      await shot(page, 'machine-kiosk-template');
      await page.getByRole('tab', { name: /YAML/ }).click();
      const yaml = await page.inputValue('#yaml');
      // The template's comments and the fields the form does not show are still there.
      expect(yaml).toContain('keymap: us us');
      expect(yaml).toContain('# the page to show');
      expect(yaml).toContain('url: https://departures.example/hall');
      expect(yaml).not.toContain('correct horse');
      await shot(page, 'machine-yaml');
      await page.getByRole('tab', { name: /Form/ }).click();

      const file = path.join(temp.dir, 'kiosk-hall.yml');
      harness.dialogAnswers.push(file);
      await page.getByRole('button', { name: 'Next: Alpine' }).click();
      await page.getByRole('heading', { name: 'Alpine boot media' }).waitFor();
      expect(harness.dialogs.at(-1)).toEqual({
        kind: 'save',
        options: { title: 'Save the machine definition as', defaultName: 'kiosk-hall.yml' },
      });
      const secrets = path.join(temp.dir, 'kiosk-hall.secrets.yml');
      expect(parse(readFileSync(secrets, 'utf8'))).toEqual({ wifi_hall: 'correct horse battery' });
      expect(statSync(secrets).mode & 0o777).toBe(0o600);
      const validated = runCli(['validate', file, '--secrets', secrets]);
      expect(validated.status, validated.stderr).toBe(0);
      expect((await harness.recent()).map((entry) => entry.path)).toEqual([file]);
    });

    it("offers .iso and .tar.gz boot media, and builds an image with the definition's partition size", async () => {
      const { page } = harness;
      // No mirror here: the release list fails with a message, and a local file is the way.
      await page.fill('#mirror', 'http://127.0.0.1:9/alpine');
      await page.getByRole('alert').waitFor({ timeout: 30_000 });
      await shot(page, 'alpine-mirror-unreachable');
      harness.dialogAnswers.push(media.tarball);
      await page.getByRole('button', { name: 'Use a local file…' }).click();
      await expect.poll(() => page.textContent('.media-status')).toContain(media.tarball);
      const filter = (harness.dialogs.at(-1)?.options as { filters: { extensions: string[] }[] }).filters[0];
      expect(filter?.extensions).toEqual(expect.arrayContaining(['gz', 'iso']));
      await shot(page, 'alpine-local-file');
      await page.getByRole('button', { name: 'Next: Target' }).click();
      await page.getByRole('heading', { name: 'Choose the card' }).waitFor();
      expect(await focused(page)).toMatch(/^H2 Choose the card/);
      // No drive is chosen for the user.
      expect(await page.locator('input[name=drive]:checked').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Next: Confirm' }).isDisabled()).toBe(true);

      const output = path.join(temp.dir, 'kiosk.img');
      harness.dialogAnswers.push(output);
      await page.getByRole('button', { name: 'Save as image file…' }).click();
      await page.getByRole('heading', { name: 'The image is ready' }).waitFor({ timeout: 60_000 });
      await shot(page, 'result-image');
      const result = await page.textContent('main');
      expect(result).toMatch(/kiosk-hall\.apkovl\.tar\.gz/);
      expect(result).toMatch(/ssh admin@kiosk-hall/);
      expect(result).toMatch(/first boot takes about 5 to 10 minutes/);
      // A Pi image does not boot in QEMU; its saved definition is netbooted, with QEMU for aarch64
      // (qemu-system-arm), or the section says what to install.
      await page.getByRole('heading', { name: 'Try it first' }).waitFor();
      expect(await page.textContent('.try')).toMatch(
        /Netboot the machine in a QEMU window|qemu-system-aarch64 is not installed \(QEMU for aarch64\): install it: .*qemu-system-arm/,
      );
      expect(existsSync(output)).toBe(true);
      // The definition says nothing about the partition: an image gets 512 MiB. Nothing else was sent.
      const [partition] = sfdiskJson(output).partitions;
      expect(partition?.size).toBe(1048576);
      const build = harness.events.filter((event) => event.name === 'job.progress');
      expect(build.length).toBeGreaterThan(1);
    });

    it("sends the definition's boot.partition_size, and explains a failure with what to do", async () => {
      const { page } = harness;
      await page.getByRole('button', { name: 'Home' }).click();
      await expect.poll(() => page.textContent('main')).toMatch(/kiosk-hall/);
      await shot(page, 'home-recent');
      await page.getByRole('button', { name: 'kiosk-hall' }).click();
      await page.getByRole('heading', { name: 'Describe the machine' }).waitFor();
      // Opened with its secrets file, which stays where it is; unchanged, it needs no saving.
      await expect.poll(() => page.textContent('.file-line')).toMatch(/kiosk-hall\.secrets\.yml/);
      expect(await page.locator('[aria-invalid=true]').count()).toBe(0);
      expect(await page.isDisabled('#wifiPassphrase')).toBe(true);
      await shot(page, 'machine-opened');
      await page.getByRole('button', { name: 'Pi headless' }).click();
      await expect.poll(() => page.inputValue('#hostname')).toBe('pi-headless');
      await page.fill('#partitionSize', '300MiB');
      harness.dialogAnswers.push(path.join(temp.dir, 'headless-300.yml'));
      await page.getByRole('button', { name: 'Next: Alpine' }).click();
      await page.getByRole('heading', { name: 'Alpine boot media' }).waitFor();
      await page.fill('#mirror', 'http://127.0.0.1:9/alpine');
      const overlay = createOverlay(temp.dir, 'not-media');
      harness.dialogAnswers.push(overlay);
      await page.getByRole('button', { name: 'Use a local file…' }).click();
      await page.getByRole('button', { name: 'Next: Target' }).click();
      harness.dialogAnswers.push(path.join(temp.dir, 'never.img'));
      await page.getByRole('button', { name: 'Save as image file…' }).click();
      await page.getByRole('heading', { name: 'The card was not made' }).waitFor({ timeout: 60_000 });
      await shot(page, 'result-error');
      const alert = await page.getByRole('alert').textContent();
      expect(alert).toMatch(/not Alpine boot media/);
      expect(alert).toMatch(/What to do: use Alpine boot media such as/);
      expect(existsSync(path.join(temp.dir, 'never.img'))).toBe(false);

      await page.getByRole('button', { name: 'Change the boot media' }).click();
      await page.getByRole('button', { name: 'Use a release instead' }).click();
      harness.dialogAnswers.push(media.tarball);
      await page.getByRole('button', { name: 'Use a local file…' }).click();
      await page.getByRole('button', { name: 'Next: Target' }).click();
      const output = path.join(temp.dir, 'headless-300.img');
      harness.dialogAnswers.push(output);
      await page.getByRole('button', { name: 'Save as image file…' }).click();
      await page.getByRole('heading', { name: 'The image is ready' }).waitFor({ timeout: 60_000 });
      expect(sfdiskJson(output).partitions[0]?.size).toBe((300 * 1048576) / 512);
    });
  },
);
