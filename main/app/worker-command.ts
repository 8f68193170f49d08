import path from 'node:path';

/*
 * Placeholder until the elevation work lands (its worker-command.ts replaces this file, with the
 * same WorkerCommand): how the app starts `apkovl worker` in development.
 */

/**
 * How to start `apkovl worker`: a program, its arguments, and variables set on top of the
 * parent's environment. It speaks the IPC contract as JSON lines on stdio (main/cli/worker.ts).
 */
export interface WorkerCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Development (`npm start`): Node (APKOVL_NODE, else `node`) runs the CLI bundle. */
export function devWorkerCommand(appRoot: string): WorkerCommand {
  return {
    command: process.env.APKOVL_NODE ?? 'node',
    args: [path.join(path.resolve(appRoot), 'dist', 'cli', 'apkovl.mjs'), 'worker'],
    env: {},
  };
}
