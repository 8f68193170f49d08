import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePowerShell } from '../../../main/app/elevation/windows.js';
import { elevatedWorkerCommand, packagedWorkerCommand } from '../../../main/app/worker-command.js';
import { makeTempDir } from '../../helpers/temp.js';

// macOS and Windows elevation are untested on a real Mac or Windows here: these check the
// commands as constructed (the macOS FIFO bridge also runs for real in
// test/integration/elevation-fifo-bridge.test.ts with a stand-in osascript).

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  temp = makeTempDir('apkovl-platforms-');
});
afterAll(() => temp.cleanup());

describe('macOS: osascript with the worker on FIFOs', () => {
  it('runs a /bin/sh bridge with a private folder of FIFOs and the elevated command as an argument', async () => {
    const base = packagedWorkerCommand('/Applications/Apkovl Studio.app/Contents/Resources', 'darwin');
    const elevated = await elevatedWorkerCommand(base, { platform: 'darwin', env: {}, tempDir: temp.dir });
    expect(elevated).toMatchObject({ command: '/bin/sh', method: 'osascript', elevated: true, env: {} });
    const [flag, bridge, name, directory, command] = elevated.args;
    expect(flag).toBe('-c');
    expect(name).toBe('apkovl-elevate');
    expect(bridge).toMatch(/with administrator privileges/);
    expect(bridge).not.toMatch(/nc |socat|localhost|127\.0\.0\.1/);
    expect(statSync(directory!).mode & 0o777).toBe(0o700);
    for (const fifo of ['in', 'out', 'err']) expect(statSync(path.join(directory!, fifo)).isFIFO()).toBe(true);
    expect(command).toBe(
      `exec '/Applications/Apkovl Studio.app/Contents/Resources/worker/apkovl' worker <${directory}/in >${directory}/out 2>${directory}/err`,
    );
    await elevated.cleanup();
    expect(existsSync(directory!)).toBe(false);
  });
});

describe('Windows: UAC through a PowerShell bridge over named pipes', () => {
  it('encodes a script that starts the worker with RunAs and restricts the pipes', async () => {
    const base = packagedWorkerCommand('C:\\Program Files\\Apkovl Studio\\resources', 'win32');
    const elevated = await elevatedWorkerCommand(base, { platform: 'win32', env: { SystemRoot: 'C:\\Windows' } });
    expect(elevated.command).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(elevated.args.slice(0, 5)).toEqual([
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    const script = Buffer.from(elevated.args[5]!, 'base64').toString('utf16le');
    expect(encodePowerShell(script)).toBe(elevated.args[5]);
    expect(script).toContain("$worker = 'C:\\Program Files\\Apkovl Studio\\resources\\worker\\apkovl.exe'");
    expect(script).toContain("$arguments = 'worker'");
    expect(script).toContain('-Verb RunAs');
    expect(script).toContain("SecurityIdentifier('S-1-5-2')"); // NETWORK logons denied
    expect(script).toContain('exit 1223');
    expect(script).not.toMatch(/TcpListener|Socket|HttpListener/);
  });

  it('refuses what cmd.exe would interpret', async () => {
    const base = { command: 'C:\\a&b\\apkovl.exe', args: ['worker'], env: {} };
    await expect(elevatedWorkerCommand(base, { platform: 'win32', env: {} })).rejects.toThrow(/cmd\.exe/);
  });
});
