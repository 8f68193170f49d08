import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The built self-check (npm test builds first): run with a given runtime, as Node. */
const script = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../dist/test/runtime/lending-gunzip-selfcheck.js',
);

function run(executable: string, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const result = spawnSync(executable, [script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

function electronBinary(): string | null {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}
const electron = electronBinary();

describe('LendingGunzip on the runtimes that ship it', () => {
  it(`keeps every byte intact, pooled and unpooled, on this Node (${process.versions.node})`, () => {
    expect(run(process.execPath)).toMatchObject({
      pooled: { active: true, intact: true },
      unpooled: { active: false, intact: true },
    });
  });

  it.skipIf(electron === null)(
    "does the same on Electron's Node (skipped: the Electron binary is not installed here; npm installs it only with internet access)",
    () => {
      // Where a future Electron drops the field the pool relies on, `active` turns false and the
      // reader falls back to Node's own buffers: still intact, only slower. That must be seen.
      expect(run(electron as string, { ELECTRON_RUN_AS_NODE: '1' })).toMatchObject({
        pooled: { active: true, intact: true },
        unpooled: { active: false, intact: true },
      });
    },
  );
});
