import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const config = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/requirements/vitest.config.ts');
const vitest = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/vitest/vitest.mjs');

function runFixture(env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [vitest, 'run', '--config', config], {
    encoding: 'utf8',
    env: { ...process.env, CI: undefined, ...env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('suites that need a missing tool', () => {
  it('skip where the tool is missing', () => {
    const { status, output } = runFixture({});
    expect(output).toMatch(/1 skipped/);
    expect(status).toBe(0);
  });

  it('fail under CI=true, naming what is missing', () => {
    const { status, output } = runFixture({ CI: 'true' });
    expect(output).toMatch(/a tool this machine does not have is missing; \.ci\/run must install it/);
    expect(status).not.toBe(0);
  });
});
