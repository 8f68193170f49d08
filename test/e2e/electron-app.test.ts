import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

/**
 * The real Electron app: window, generic preload and IPC binding. Needs the Electron binary,
 * which npm installs only with internet access; where it was skipped
 * (ELECTRON_SKIP_BINARY_DOWNLOAD=1, as in this project's CI) this test says so and skips.
 */
function electronBinary(): string | null {
  // Read what electron's install script wrote instead of require('electron'), which would try
  // to download the binary right now.
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}
const binary = electronBinary();

describe.skipIf(binary === null)(
  'Electron app (skipped: the Electron binary is not installed here; npm installs it only with internet access)',
  () => {
    it('opens the build screen, and the preload reaches the main process', async () => {
      const app = await electron.launch({
        executablePath: binary as string,
        args: [path.resolve('.'), '--no-sandbox'],
      });
      try {
        const window = await app.firstWindow();
        expect(await window.title()).toBe('Apkovl Studio');
        await expect.poll(() => window.textContent('.app-header')).toMatch(/version \d+\.\d+\.\d+/);
        // The page gets a transport and nothing of Node.
        expect(await window.evaluate(() => typeof (globalThis as Record<string, unknown>).require)).toBe('undefined');
        await window.getByRole('button', { name: 'Build image' }).click();
        await expect.poll(() => window.textContent('#boot-media-help')).toMatch(/Choose the Alpine boot media/);
      } finally {
        await app.close();
      }
    });
  },
);
