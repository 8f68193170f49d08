import { describe, expect, it } from 'vitest';
import { describeWorkerExit, elevationTimeoutError } from '../../../main/app/worker-command.js';

const linux = { elevated: true, platform: 'linux' as const };

describe('describeWorkerExit', () => {
  it('pkexec 126: the prompt was dismissed, a cancellation that says how to go on', () => {
    const error = describeWorkerExit({ code: 126, signal: null }, '', linux);
    expect(error.code).toBe('cancelled');
    expect(error.message).toMatch(/password prompt was closed: no drive was touched/);
    expect(error.hint).toMatch(/enter an administrator password/);
  });

  it('pkexec 127 without an agent: install or start a polkit agent, or use sudo', () => {
    const error = describeWorkerExit(
      { code: 127, signal: null },
      'Error executing command as another user: No authentication agent found.\n',
      linux,
    );
    expect(error.code).toBe('io');
    expect(error.message).toMatch(/no polkit authentication agent is running/);
    expect(error.hint).toMatch(/polkit agent/);
    expect(error.hint).toMatch(/sudo apkovl build --device/);
  });

  it('pkexec 127 not authorized', () => {
    const error = describeWorkerExit(
      { code: 127, signal: null },
      'Error executing command as another user: Not authorized\n\nThis incident has been reported.\n',
      linux,
    );
    expect(error.message).toMatch(/not authorized/);
    expect(error.hint).toMatch(/ask an administrator/);
  });

  it('other pkexec failures quote pkexec', () => {
    const error = describeWorkerExit(
      { code: 127, signal: null },
      'pkexec: Cannot run program /opt/x/apkovl: No such file or directory\n',
      linux,
    );
    expect(error.message).toMatch(/pkexec could not start the administrator worker: pkexec: Cannot run program/);
  });

  it('the same status from an unelevated worker is a plain failure with its stderr', () => {
    const error = describeWorkerExit({ code: 126, signal: null }, 'boom\n', { elevated: false, platform: 'linux' });
    expect(error.code).toBe('io');
    expect(error.message).toBe('the worker ended with status 126: boom');
  });

  it('a signal, and control characters in stderr escaped', () => {
    const killed = describeWorkerExit({ code: null, signal: 'SIGKILL' }, '', { elevated: true, platform: 'linux' });
    expect(killed.message).toBe('the administrator worker was stopped by SIGKILL');
    expect(killed.hint).toMatch(/out of memory/);
    const odd = describeWorkerExit({ code: 1, signal: null }, 'a\x1b[31mred\n', { elevated: false, platform: 'linux' });
    expect(odd.message).toContain('a\\x1b[31mred');
  });

  it('macOS: osascript "User canceled. (-128)"; Windows: ERROR_CANCELLED from the UAC bridge', () => {
    expect(
      describeWorkerExit({ code: 1, signal: null }, '0:93: execution error: User canceled. (-128)\n', {
        elevated: true,
        platform: 'darwin',
      }).code,
    ).toBe('cancelled');
    const uac = describeWorkerExit({ code: 1223, signal: null }, 'UAC: The operation was canceled by the user.', {
      elevated: true,
      platform: 'win32',
    });
    expect(uac.code).toBe('cancelled');
    expect(uac.message).toMatch(/UAC/);
  });

  it('a prompt nobody answered', () => {
    const error = elevationTimeoutError('linux', 120);
    expect(error.message).toBe('no answer from the polkit password prompt within 120 s: no drive was touched');
    expect(error.hint).toMatch(/polkit agent/);
  });
});
