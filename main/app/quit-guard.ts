/**
 * Quitting mid-job: the first quit is held back (preventDefault) until the workers are closed
 * (their jobs cancelled, partial files deleted), for at most `timeoutMs`, then the app exits.
 * Later quit attempts while it closes are held back too. Electron-free.
 */
export function createQuitGuard(options: {
  shutdown: () => Promise<void>;
  exit: () => void;
  timeoutMs: number;
  log?: (text: string) => void;
}): (event: { preventDefault(): void }) => void {
  let state: 'running' | 'closing' = 'running';
  return (event) => {
    event.preventDefault();
    if (state === 'closing') return;
    state = 'closing';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        options.log?.(`[app] the workers did not close within ${options.timeoutMs} ms; quitting anyway\n`);
        resolve();
      }, options.timeoutMs);
    });
    void Promise.race([options.shutdown().catch(() => undefined), timeout]).finally(() => {
      clearTimeout(timer);
      options.exit();
    });
  };
}
