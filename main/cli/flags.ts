import { AppError, isAppError } from '../../shared/errors.js';

/**
 * A value given with `option` on the command line, read by `parse`: if the value cannot be used
 * (`--size abc`, `--size 3TiB`, `--label kiosk`), that is a usage error (exit 2), reported with
 * the reader's message and hint and located at the option.
 */
export function flagValue<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!isAppError(error) || error.code === 'internal' || error.code === 'cancelled') throw error;
    throw new AppError('usage', error.message, {
      location: option,
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      cause: error,
    });
  }
}

/** commander's collector for an option that may be repeated: `--mirror A --mirror B`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
