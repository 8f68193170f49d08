import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Where the Electron binary is missing, the Electron app test skips and says why in the test
 * output: vitest's default reporter shows neither a skipped suite's name nor a skip note, so
 * "1 skipped" alone would leave the reader guessing.
 */
describe('the Electron app test', () => {
  it('prints why it skips where the Electron binary is missing', () => {
    const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const missing = path.resolve('test-results/no-electron-here');
    const result = spawnSync(process.execPath, [vitest, 'run', 'test/e2e/electron-app.test.ts'], {
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: missing, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    expect(output).toMatch(/1 skipped/);
    expect(output).toContain(`skipped the Electron app test: no Electron binary at ${missing}`);
    expect(output).toMatch(/npm installs it only with internet access/);
  });
});
