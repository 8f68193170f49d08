import { describe, expect, it } from 'vitest';
import { createQuitGuard } from '../../../main/app/quit-guard.js';

const event = () => {
  const state = { prevented: 0 };
  return { state, preventDefault: () => (state.prevented += 1) };
};

describe('quit guard', () => {
  it('holds the quit back until the workers are closed, once', async () => {
    let finishShutdown: () => void = () => undefined;
    let shutdowns = 0;
    let exits = 0;
    const guard = createQuitGuard({
      shutdown: () => {
        shutdowns += 1;
        return new Promise<void>((resolve) => (finishShutdown = resolve));
      },
      exit: () => (exits += 1),
      timeoutMs: 5000,
    });
    const first = event();
    const second = event();
    guard(first);
    guard(second);
    expect([first.state.prevented, second.state.prevented, shutdowns, exits]).toEqual([1, 1, 1, 0]);
    finishShutdown();
    await expect.poll(() => exits).toBe(1);
  });

  it('quits anyway when closing takes too long or fails', async () => {
    let exits = 0;
    const logged: string[] = [];
    createQuitGuard({
      shutdown: () => new Promise<void>(() => undefined),
      exit: () => (exits += 1),
      timeoutMs: 50,
      log: (text) => logged.push(text),
    })(event());
    await expect.poll(() => exits).toBe(1);
    expect(logged.join('')).toMatch(/did not close within 50 ms/);
    let failedExits = 0;
    createQuitGuard({
      shutdown: () => Promise.reject(new Error('boom')),
      exit: () => (failedExits += 1),
      timeoutMs: 5000,
    })(event());
    await expect.poll(() => failedExits).toBe(1);
  });
});
