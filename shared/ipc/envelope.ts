import type { AppError } from '../errors.js';
import type { Envelope } from './contract.js';

/** A user error as the contract's failed envelope: the same for the router and the CLI's --json. */
export function failureEnvelope(error: AppError): Envelope {
  return {
    ok: false,
    error: { code: error.code, message: error.message, location: error.location ?? null, hint: error.hint ?? null },
  };
}
