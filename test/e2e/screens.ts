import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

/** Where every screen and state of the app is saved as users see it. */
export const screenshots = path.resolve('test-results/screenshots');

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/** The focused element's tag and text: each screen puts focus on its heading. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = (
      globalThis as unknown as { document: { activeElement: { tagName: string; textContent: string | null } | null } }
    ).document.activeElement;
    return `${active?.tagName ?? ''} ${active?.textContent ?? ''}`;
  });
}
