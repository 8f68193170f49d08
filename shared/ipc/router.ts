import type { z } from 'zod';
import { AppError } from '../errors.js';
import { failureEnvelope } from './envelope.js';
import {
  contract,
  type CommandParsedInput,
  type CommandName,
  type CommandOutput,
  type Envelope,
  type EventName,
  type EventPayload,
} from './contract.js';

export interface HandlerContext {
  emit<E extends EventName>(name: E, payload: EventPayload<E>): void;
}

export type Handlers = {
  [C in CommandName]: (input: CommandParsedInput<C>, context: HandlerContext) => Promise<CommandOutput<C>>;
};

export interface RouterOptions {
  /** Told about anything that is not an AppError (a bug), with its stack. */
  onBug?: (error: unknown, command: string) => void;
}

function describeIssues(error: z.ZodError): { message: string; location: string | null } {
  const first = error.issues[0];
  const location = first && first.path.length > 0 ? first.path.join('.') : null;
  return { message: first?.message ?? 'invalid request', location };
}

/**
 * Validates a request against the contract, runs its handler and wraps the result in an
 * envelope. Never throws: every failure becomes `{ok: false, error}` with a code from a closed set.
 */
export function createRouter(handlers: Handlers, options: RouterOptions = {}) {
  return {
    async handle(command: string, input: unknown, context: HandlerContext): Promise<Envelope> {
      if (!Object.hasOwn(contract.commands, command)) {
        return {
          ok: false,
          error: { code: 'unknown-command', message: `no command "${command}"`, location: null, hint: null },
        };
      }
      const name = command as CommandName;
      const spec = contract.commands[name];
      const parsed = spec.input.safeParse(input);
      if (!parsed.success) {
        const { message, location } = describeIssues(parsed.error);
        return { ok: false, error: { code: 'invalid-request', message, location, hint: null } };
      }
      try {
        const handler = handlers[name] as (input: unknown, context: HandlerContext) => Promise<unknown>;
        const value: unknown = await handler(parsed.data, context);
        const checked = spec.output.safeParse(value);
        if (!checked.success)
          throw new Error(`the ${name} handler returned an invalid result: ${checked.error.message}`);
        return { ok: true, value: checked.data };
      } catch (error) {
        // AppError('internal') is a bug that was classified where it happened: still a bug.
        if (error instanceof AppError && error.code !== 'internal') return failureEnvelope(error);
        options.onBug?.(error, name);
        return {
          ok: false,
          error: {
            code: 'internal',
            message: 'an internal error occurred; details are in the log',
            location: null,
            hint: null,
          },
        };
      }
    },
  };
}
export type Router = ReturnType<typeof createRouter>;
