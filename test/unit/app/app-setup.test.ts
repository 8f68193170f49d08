import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerSetup, type AppSetupOptions } from '../../../main/app/app-setup.js';
import { makeTempDir } from '../../helpers/temp.js';

let temp: ReturnType<typeof makeTempDir>;
let withPkexec: string;
let withoutPkexec: string;

function program(directory: string, name: string): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, name), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(directory, name), 0o755);
}

beforeAll(() => {
  temp = makeTempDir('apkovl-setup-');
  withPkexec = path.join(temp.dir, 'full');
  withoutPkexec = path.join(temp.dir, 'bare');
  program(withPkexec, 'node');
  program(withPkexec, 'pkexec');
  program(withoutPkexec, 'node');
});
afterAll(() => temp.cleanup());

const options = (overrides: Partial<AppSetupOptions>): AppSetupOptions => ({
  packaged: false,
  resourcesPath: '/opt/Apkovl Studio/resources',
  appRoot: '/src/apkovl-studio',
  platform: 'linux',
  uid: 1000,
  env: { PATH: withPkexec },
  ...overrides,
});

describe('workerSetup: how the app starts its workers', () => {
  it('in development runs the CLI bundle with node, and asks through pkexec for device work', async () => {
    const setup = workerSetup(options({}));
    expect(setup.deviceAccess.mode).toBe('prompt');
    expect(await setup.worker()).toEqual({
      command: path.join(withPkexec, 'node'),
      args: ['/src/apkovl-studio/dist/cli/apkovl.mjs', 'worker'],
      env: {},
    });
    const elevated = await setup.elevated?.();
    expect(elevated).toMatchObject({
      command: path.join(withPkexec, 'pkexec'),
      args: [
        '--disable-internal-agent',
        path.join(withPkexec, 'node'),
        '/src/apkovl-studio/dist/cli/apkovl.mjs',
        'worker',
      ],
    });
  });

  it('in the packages runs the shipped worker program, elevated the same way', async () => {
    const setup = workerSetup(options({ packaged: true }));
    expect(await setup.worker()).toEqual({
      command: '/opt/Apkovl Studio/resources/worker/apkovl',
      args: ['worker'],
      env: {},
    });
    expect((await setup.elevated?.())?.args).toEqual([
      '--disable-internal-agent',
      '/opt/Apkovl Studio/resources/worker/apkovl',
      'worker',
    ]);
  });

  it('needs no prompt as root, and says why device work is impossible without pkexec', () => {
    const root = workerSetup(options({ uid: 0 }));
    expect(root.deviceAccess).toEqual({ mode: 'privileged', detail: null });
    expect(root.elevated).toBeUndefined();
    const bare = workerSetup(options({ env: { PATH: withoutPkexec } }));
    expect(bare.deviceAccess.mode).toBe('unavailable');
    expect(bare.deviceAccess.detail).toMatch(/pkexec .*not installed.*sudo apkovl build --device/);
    expect(bare.elevated).toBeUndefined();
  });

  it('turns a dismissed prompt, a missing agent and a prompt nobody answers into what to do', () => {
    const setup = workerSetup(options({}));
    const dismissed = setup.describeElevatedExit?.({ code: 126, signal: null }, '');
    expect(dismissed?.code).toBe('cancelled');
    expect(dismissed?.message).toMatch(/no drive was touched/);
    const noAgent = setup.describeElevatedExit?.(
      { code: 127, signal: null },
      'Error executing command as another user: No authentication agent found.\n',
    );
    expect(noAgent?.message).toMatch(/no polkit authentication agent/);
    // The unprivileged worker's 127 is not a polkit message: it says what the worker wrote.
    const plain = setup.describeExit?.({ code: 127, signal: null }, 'node: not found\n');
    expect(plain?.code).toBe('io');
    expect(plain?.message).toMatch(/the worker ended with status 127: node: not found/);
    expect(setup.elevatedStartTimeout?.ms).toBe(180_000);
    expect(setup.elevatedStartTimeout?.error().message).toMatch(/180/);
  });
});
