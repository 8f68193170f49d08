/**
 * Classified errors shared by every front end.
 *
 * A user error carries a message a person can act on (what is wrong, where, how to fix it).
 * Anything that is not an AppError is a bug and is reported with its stack.
 */
export const errorCodes = [
  /** The command line (or request) itself is wrong: an unknown option, a bad value for a flag. */
  'usage',
  'invalid-input',
  'invalid-media',
  'not-found',
  'too-small',
  'io',
  'cancelled',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface AppErrorOptions {
  /** What to do about it, one sentence. */
  hint?: string;
  /** Where: a field path, a file name, a byte range. */
  location?: string;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly location: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
  }
}

export class CancelledError extends AppError {
  constructor(message = 'cancelled') {
    super('cancelled', message);
    this.name = 'CancelledError';
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** One line for a person: location, message, hint. */
export function describeError(error: AppError): string {
  const where = error.location === undefined ? '' : `${error.location}: `;
  const hint = error.hint === undefined ? '' : `\n  hint: ${error.hint}`;
  return `${where}${error.message}${hint}`;
}
