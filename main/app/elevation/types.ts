/**
 * How to start `apkovl worker`: a program, its arguments, and variables to set on top of the
 * parent's environment (spawn it with `{ env: { ...process.env, ...env } }` and stdio pipes). It
 * speaks the IPC contract as JSON lines on stdin/stdout (main/cli/worker.ts).
 */
export interface WorkerCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * A worker command that runs with administrator rights. `cleanup` removes what was prepared for it
 * (a root-readable copy of the worker, a folder of FIFOs): call it when the worker has exited or
 * when the app quits. It never throws and may be called more than once.
 */
export interface ElevatedWorkerCommand extends WorkerCommand {
  elevated: true;
  /** How the rights are obtained, for messages and logs. */
  method: 'pkexec' | 'osascript' | 'uac';
  cleanup: () => Promise<void>;
}
