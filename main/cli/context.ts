import type { Services } from '../services/index.js';
import type { Output } from './progress-output.js';

/** What every command gets: the services, the streams, and how to report progress and results. */
export interface CommandContext {
  services: Services;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** The exit code when the command returns normally (a check that found errors sets 1). */
  exitCode: number;
  /**
   * The exit code of an input error (a missing file, invalid input): 1, except for commands whose
   * 1 means something else (verify: a bad card), which make it 2 like a usage error.
   */
  inputErrorExitCode: number;
  /** Progress output: JSON lines when asked for, a bar on a terminal, else nothing. */
  output(json: boolean): Output;
  /**
   * With --json: the command's one response line, the contract's envelope around `value`, as
   * `apkovl worker` would answer the same request.
   */
  respond(command: string, value: unknown): void;
}
