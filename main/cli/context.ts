import type { Services } from '../services/index.js';
import type { Output } from './progress-output.js';

/** What every command gets: the services, the streams, and how to report progress. */
export interface CommandContext {
  services: Services;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  /** The exit code when the command returns normally (a check that found errors sets 1). */
  exitCode: number;
  /** Progress output: JSON lines when asked for, a bar on a terminal, else nothing. */
  output(json: boolean): Output;
}
