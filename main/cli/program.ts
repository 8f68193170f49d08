import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { type AppError, describeError, isAppError } from '../../shared/errors.js';
import { displayMessage } from '../../shared/rules/display.js';
import { createServices } from '../services/index.js';
import { buildCommand } from './commands/build.js';
import { drivesCommand } from './commands/drives.js';
import { initCommand, inspectCommand, overlayCommand, schemaCommand, validateCommand } from './commands/machine.js';
import { cacheCommand, fetchCommand, releasesCommand } from './commands/releases.js';
import type { CommandContext } from './context.js';
import { jsonOutput, silentOutput, terminalOutput } from './progress-output.js';

export interface CliEnvironment {
  stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

export const EXIT_USER_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_BUG = 70;
export const EXIT_CANCELLED = 130;

function packageVersion(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'apkovl-studio') return manifest.version ?? '0.0.0';
    } catch {
      // not here; look one folder up
    }
    directory = path.dirname(directory);
  }
  return '0.0.0';
}

function isTerminal(stream: NodeJS.WritableStream): stream is NodeJS.WriteStream {
  return (stream as NodeJS.WriteStream).isTTY === true;
}

/** Run the CLI with `args` (without node and script); returns the exit code. */
export async function runCli(args: string[], environment: CliEnvironment): Promise<number> {
  let json = args.includes('--json');
  const context: CommandContext = {
    services: createServices({ now: () => performance.now(), env: environment.env }),
    stdout: environment.stdout,
    stderr: environment.stderr,
    env: environment.env,
    signal: environment.signal,
    exitCode: 0,
    output: (wantsJson) => {
      json = wantsJson;
      if (wantsJson) return jsonOutput(environment.stdout);
      return isTerminal(environment.stderr) ? terminalOutput(environment.stderr) : silentOutput();
    },
  };
  const program = new Command('apkovl')
    .description(
      'Apkovl Studio: define an Alpine Linux diskless machine, build its apkovl, and write ' +
        'bootable card images (for SD cards and USB sticks) from Alpine boot media.',
    )
    .version(packageVersion(), '-V, --version')
    // Options before a command belong to the program; fetch has a --version of its own.
    .enablePositionalOptions()
    .showHelpAfterError('(run apkovl help <command> for the options)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout.write(text),
      writeErr: (text) => environment.stderr.write(text),
    })
    .addHelpText('after', '\nRun "apkovl help <command>" for a command\'s options and examples.');
  const commands = [
    initCommand,
    validateCommand,
    overlayCommand,
    buildCommand,
    inspectCommand,
    schemaCommand,
    releasesCommand,
    fetchCommand,
    cacheCommand,
    drivesCommand,
  ].map((make) => make(context));
  for (const command of commands) {
    // addCommand does not pass on exitOverride and the output streams by itself.
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }

  try {
    await program.parseAsync(args, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isAppError(error)) return report(error, json, environment);
    const bug = error instanceof Error ? error : new Error(String(error));
    if (json) {
      environment.stdout.write(`${JSON.stringify({ type: 'error', code: 'internal', message: bug.message })}\n`);
    }
    environment.stderr.write(`apkovl: internal error (a bug, please report it): ${bug.stack ?? bug.message}\n`);
    return EXIT_BUG;
  }
}

function report(error: AppError, json: boolean, environment: CliEnvironment): number {
  if (json) {
    environment.stdout.write(
      `${JSON.stringify({ type: 'error', code: error.code, message: error.message, location: error.location ?? null, hint: error.hint ?? null })}\n`,
    );
  }
  if (error.code === 'cancelled') {
    environment.stderr.write('apkovl: cancelled; nothing was left behind\n');
    return EXIT_CANCELLED;
  }
  environment.stderr.write(`apkovl: error: ${displayMessage(describeError(error))}\n`);
  return error.code === 'usage' ? EXIT_USAGE : EXIT_USER_ERROR;
}
