import { Command, CommanderError, type Option } from 'commander';
import { type AppError, describeError, isAppError } from '../../shared/errors.js';
import { displayMessage } from '../../shared/rules/display.js';
import { createServices } from '../services/index.js';
import { toolVersion } from '../services/tool-version.js';
import { buildCommand } from './commands/build.js';
import { drivesCommand } from './commands/drives.js';
import { eraseCommand } from './commands/erase.js';
import { initCommand, inspectCommand, overlayCommand, schemaCommand, validateCommand } from './commands/machine.js';
import { cacheCommand, fetchCommand, releasesCommand } from './commands/releases.js';
import { serveCommand } from './commands/serve.js';
import { tryCommand } from './commands/try.js';
import { verifyCommand } from './commands/verify.js';
import { workerCommand } from './commands/worker.js';
import { EXIT_BUG, EXIT_CANCELLED, EXIT_USAGE, EXIT_USER_ERROR } from './exit-codes.js';
import type { CommandContext } from './context.js';
import { failureEnvelope } from '../../shared/ipc/envelope.js';
import { encodeWire } from '../../shared/ipc/wire-format.js';
import { jsonOutput, quietOutput, terminalOutput } from './progress-output.js';

export interface CliEnvironment {
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
}

export { EXIT_BUG, EXIT_CANCELLED, EXIT_USAGE, EXIT_USER_ERROR };

function isTerminal(stream: NodeJS.WritableStream): stream is NodeJS.WriteStream {
  return (stream as NodeJS.WriteStream).isTTY === true;
}

/** The contract's name for what each command does: its --json response carries it. */
const CONTRACT_COMMANDS: Record<string, string> = {
  build: 'card.build',
  validate: 'definition.validate',
  overlay: 'overlay.write',
  inspect: 'apkovl.inspect',
  releases: 'release.list',
  fetch: 'release.fetch',
  ls: 'cache.list',
  prune: 'cache.prune',
  drives: 'drives.list',
  verify: 'card.verify',
  erase: 'card.erase',
};

/** Run the CLI with `args` (without node and script); returns the exit code. */
export async function runCli(args: string[], environment: CliEnvironment): Promise<number> {
  let json = args.includes('--json');
  // Known before commander parses anything, so that a usage error's envelope names it too.
  const positionals = args.filter((arg) => !arg.startsWith('-'));
  const named = positionals[0] === 'cache' ? positionals[1] : positionals[0];
  let command = (named !== undefined ? CONTRACT_COMMANDS[named] : undefined) ?? 'cli';
  const context: CommandContext = {
    services: createServices({
      now: () => performance.now(),
      env: environment.env,
      tool: { name: 'apkovl-studio', version: toolVersion() },
    }),
    stdin: environment.stdin ?? process.stdin,
    stdout: environment.stdout,
    stderr: environment.stderr,
    env: environment.env,
    signal: environment.signal,
    exitCode: 0,
    inputErrorExitCode: EXIT_USER_ERROR,
    output: (wantsJson) => {
      json = wantsJson;
      if (wantsJson) return jsonOutput(environment.stdout);
      return isTerminal(environment.stderr) ? terminalOutput(environment.stderr) : quietOutput(environment.stderr);
    },
    respond: (name, value) => {
      if (json)
        environment.stdout.write(
          encodeWire({ type: 'response', id: null, command: name, envelope: { ok: true, value } }),
        );
    },
  };
  const program = new Command('apkovl')
    .description(
      'Apkovl Studio: define an Alpine Linux diskless machine, build its apkovl, and write ' +
        'bootable SD cards and USB sticks (or their images) from Alpine boot media, with every ' +
        'package on the card for an offline first boot (x86 sticks boot BIOS and UEFI PCs); verify ' +
        'any card; serve apkovls to netbooted fleets; and try a machine in QEMU first.',
    )
    .version(toolVersion(), '-V, --version')
    // Options before a command belong to the program; fetch has a --version of its own.
    .enablePositionalOptions()
    .showHelpAfterError('(run apkovl help <command> for the options)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout.write(text),
      writeErr: (text) => environment.stderr.write(text),
    })
    .addHelpText('after', '\nRun "apkovl help <command>" for a command\'s options and examples.')
    .hook('preAction', (_program, action) => {
      command = CONTRACT_COMMANDS[action.name()] ?? action.name();
    });
  const commands = [
    initCommand,
    validateCommand,
    overlayCommand,
    buildCommand,
    verifyCommand,
    inspectCommand,
    schemaCommand,
    releasesCommand,
    fetchCommand,
    cacheCommand,
    eraseCommand,
    workerCommand,
    drivesCommand,
    serveCommand,
    tryCommand,
  ].map((make) => make(context));
  for (const command of commands) {
    // addCommand does not pass on exitOverride and the output streams by itself.
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }

  checkRequiredOptionsLast(program);

  try {
    await program.parseAsync(args, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      // commander has written its message (and "did you mean") to stderr.
      if (json) {
        // "error: unknown option '--sise'\n(Did you mean --size?)": the suggestion is the hint.
        const [message = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
        const hint = rest.join(' ').replace(/^\((.*)\)$/, '$1') || null;
        environment.stdout.write(
          encodeWire({
            type: 'response',
            id: null,
            command,
            envelope: { ok: false, error: { code: 'usage', message, location: null, hint } },
          }),
        );
      }
      return EXIT_USAGE;
    }
    if (isAppError(error) && error.code !== 'internal') {
      return report(error, command, json, environment, context.inputErrorExitCode);
    }
    // A bug, whether thrown as such or classified as one (AppError 'internal'): with its stack.
    const bug = error instanceof Error ? error : new Error(String(error));
    if (json) {
      environment.stdout.write(
        encodeWire({
          type: 'response',
          id: null,
          command,
          envelope: { ok: false, error: { code: 'internal', message: bug.message, location: null, hint: null } },
        }),
      );
    }
    environment.stderr.write(`apkovl: internal error (a bug, please report it): ${bug.stack ?? bug.message}\n`);
    return EXIT_BUG;
  }
}

/**
 * Commander checks required options before unknown ones, and stops reading options at the first
 * unknown one: `build def.yml --bogus -o card.img` and `build --outptu card.img` were reported
 * as "required option '-o, --output <file>' not specified". Required options are checked here
 * instead, just before the action: after commander has reported unknown options (with its "did
 * you mean"), unexpected arguments and bad choices.
 */
function checkRequiredOptionsLast(program: Command): void {
  const required = new Map<Command, Option[]>();
  const walk = (command: Command): void => {
    const options = command.options.filter((option) => option.mandatory);
    for (const option of options) option.makeOptionMandatory(false);
    if (options.length > 0) required.set(command, options);
    command.commands.forEach(walk);
  };
  walk(program);
  program.hook('preAction', (_program, action) => {
    for (const option of required.get(action) ?? []) {
      if (action.getOptionValue(option.attributeName()) === undefined) {
        action.error(`error: required option '${option.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
      }
    }
  });
}

function report(
  error: AppError,
  command: string,
  json: boolean,
  environment: CliEnvironment,
  inputErrorExitCode: number,
): number {
  if (json) {
    environment.stdout.write(encodeWire({ type: 'response', id: null, command, envelope: failureEnvelope(error) }));
  }
  if (error.code === 'cancelled') {
    // A cancellation that says more (a confirmation not given) says it; a stop is just a stop.
    const said = error.message === 'cancelled' ? 'cancelled; nothing was left behind' : displayMessage(error.message);
    environment.stderr.write(`apkovl: ${said}\n`);
    return EXIT_CANCELLED;
  }
  environment.stderr.write(`apkovl: error: ${displayMessage(describeError(error))}\n`);
  return error.code === 'usage' ? EXIT_USAGE : inputErrorExitCode;
}
