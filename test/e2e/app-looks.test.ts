import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { missing } from '../helpers/requirements.js';
import { chromiumPath, haveChromium, openRenderer, type HarnessOptions } from '../helpers/renderer-harness.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { focused, shot } from './screens.js';

/** The main screens in the dark theme and at the smallest size the app supports, used with the keyboard alone. */
const looks: { name: string; options: HarnessOptions }[] = [
  { name: 'dark', options: { colorScheme: 'dark' } },
  { name: 'small', options: { viewport: { width: 1024, height: 700 } } },
  { name: 'small-dark', options: { viewport: { width: 1024, height: 700 }, colorScheme: 'dark' } },
];

/** Wider than the window: a horizontal scroll bar. */
function overflows(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const root = (
      globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
    ).document.documentElement;
    return root.scrollWidth > root.clientWidth;
  });
}

describe.skipIf(missing(haveChromium, `Chromium at ${chromiumPath} (Debian package chromium)`))(
  `the app's screens in the dark theme and at 1024x700, with the keyboard (${chromiumPath})`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let media: SyntheticMedia;
    beforeAll(() => {
      temp = makeTempDir();
      media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.05, overlayCount: 20, apkCount: 10 });
    });
    afterAll(() => temp.cleanup());

    for (const { name, options } of looks) {
      it(`${name}: Home, Machine, YAML, Alpine, Target and Verify, reached with the keyboard`, async () => {
        const harness = await openRenderer({
          ...options,
          env: { APKOVL_CACHE_DIR: path.join(temp.dir, `cache-${name}`) },
          deviceAccess: { mode: 'prompt', detail: 'The system asks through polkit (pkexec).' },
        });
        const { page } = harness;
        try {
          await expect.poll(() => page.textContent('.app-header')).toMatch(/version test/);
          await shot(page, `${name}-home`);
          expect(await overflows(page)).toBe(false);
          // Keyboard alone: Tab to "Create a card", Enter; focus lands on the next screen's heading.
          for (let presses = 0; presses < 5 && !(await focused(page)).startsWith('BUTTON Create a card'); presses += 1)
            await page.keyboard.press('Tab');
          expect(await focused(page)).toMatch(/^BUTTON Create a card/);
          await page.keyboard.press('Enter');
          await page.getByRole('heading', { name: 'Describe the machine' }).waitFor();
          expect(await focused(page)).toMatch(/^H2 Describe the machine/);
          await page.getByRole('button', { name: 'Pi kiosk' }).waitFor();
          await page.keyboard.press('Tab');
          expect(await focused(page)).toMatch(/^BUTTON Pi kiosk/);
          await page.keyboard.press('Enter');
          await expect.poll(() => page.inputValue('#hostname')).toBe('kiosk-hall');
          await page.fill('#sshKey', '');
          await page.keyboard.type('not a key');
          expect(await page.inputValue('#sshKey')).toBe('not a key');
          await expect.poll(() => page.getAttribute('#sshKey', 'aria-invalid')).toBe('true');
          await shot(page, `${name}-machine`);
          expect(await overflows(page)).toBe(false);
          await page.getByRole('tab', { name: 'Form' }).focus();
          await page.keyboard.press('ArrowRight');
          expect(await focused(page)).toMatch(/^BUTTON YAML/);
          await shot(page, `${name}-machine-yaml`);
          await page.getByRole('tab', { name: /Form/ }).click();
          await page.fill('#sshKey', '');
          harness.dialogAnswers.push(path.join(temp.dir, `${name}.yml`));
          await page.getByRole('button', { name: 'Next: Alpine' }).click();
          await page.getByRole('heading', { name: 'Alpine boot media' }).waitFor();
          await page.fill('#mirror', 'http://127.0.0.1:9/alpine');
          await page.getByRole('alert').waitFor({ timeout: 30_000 });
          await shot(page, `${name}-alpine-unreachable`);
          harness.dialogAnswers.push(media.tarball);
          await page.getByRole('button', { name: 'Use a local file…' }).click();
          await expect.poll(() => page.textContent('.media-status')).toContain(media.tarball);
          await shot(page, `${name}-alpine`);
          await page.getByRole('button', { name: 'Next: Target' }).click();
          await page.getByRole('heading', { name: 'Choose the card' }).waitFor();
          await page.locator('input[name=drive]').first().waitFor();
          expect(await page.textContent('main')).toMatch(/You will be asked for an administrator password/);
          await shot(page, `${name}-target`);
          expect(await overflows(page)).toBe(false);
          await page.locator('.app-header').getByRole('button', { name: 'Home' }).click();
          await page.getByRole('button', { name: /Verify a card/ }).click();
          await page.getByRole('heading', { name: 'Verify a card' }).waitFor();
          await shot(page, `${name}-verify`);
        } finally {
          await harness.close();
        }
      });
    }
  },
);
