import { access, constants } from 'node:fs/promises';
import { parse } from 'yaml';
import { AppError } from '../../shared/errors.js';
import type { CommandName, CommandParsedInput, Envelope } from '../../shared/ipc/contract.js';

/* What the app's handlers decide about a request before forwarding it to a worker. Electron-free. */

/** A definition's hostname, if its YAML says one. */
export function hostnameOf(yaml: string): string | null {
  try {
    const value: unknown = parse(yaml);
    const hostname = (value as { hostname?: unknown } | null)?.hostname;
    return typeof hostname === 'string' && hostname !== '' ? hostname : null;
  } catch {
    return null;
  }
}

/** A failed envelope from a worker, as the error the app's router reports again. */
export function errorFrom(command: string, error: Extract<Envelope, { ok: false }>['error']): AppError {
  const options = {
    ...(error.location !== null ? { location: error.location } : {}),
    ...(error.hint !== null ? { hint: error.hint } : {}),
  };
  // The app checked the request against the same contract: a worker that disagrees is a bug.
  if (error.code === 'unknown-command' || error.code === 'invalid-request' || error.code === 'internal')
    return new AppError('internal', `the worker failed on ${command}: ${error.message}`, options);
  return new AppError(error.code, error.message, options);
}

/** Whether a command reads or writes a drive (device identity and listing come from sysfs and lsblk). */
export function touchesDevice(command: CommandName, input: unknown): boolean {
  const request = (input as { request?: Record<string, { kind?: unknown } | undefined> }).request;
  switch (command) {
    case 'card.erase':
      return true;
    case 'card.build':
      return request?.destination?.kind === 'device';
    case 'card.verify':
      return request?.medium?.kind === 'device';
    default:
      return false;
  }
}

/** The files a device command reads, by field: what the elevated worker would read as root. */
export function filesRead(command: CommandName, input: unknown): { field: string; file: string }[] {
  const found: { field: string; file: string }[] = [];
  const add = (field: string, file: unknown) => {
    if (typeof file === 'string') found.push({ field, file });
  };
  if (command === 'card.build') {
    const { request } = input as CommandParsedInput<'card.build'>;
    add('request.source.file', request.source.file);
    if (request.source.kind === 'definition') add('request.source.secretsFile', request.source.secretsFile);
    if (request.media.kind === 'file') add('request.media.path', request.media.path);
    else add('request.media.trustedKeyFile', request.media.trustedKeyFile);
    add('request.card.usercfgFile', request.card.usercfgFile);
  } else if (command === 'card.verify') {
    const { request } = input as CommandParsedInput<'card.verify'>;
    add('request.machine.file', request.machine?.file);
    add('request.machine.secretsFile', request.machine?.secretsFile);
    add('request.bootMedia', request.bootMedia);
  }
  return found;
}

/**
 * The elevated worker reads as an administrator: each file a request names must be readable by
 * the person running the app, checked here (as them) before any password prompt.
 */
export async function assertReadable(command: CommandName, input: unknown): Promise<void> {
  for (const { field, file } of filesRead(command, input)) {
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      throw new AppError('not-found', `cannot read ${file}: ${(error as Error).message}`, {
        location: field,
        hint: 'choose a file that exists and that you can read',
        cause: error,
      });
    }
  }
}
