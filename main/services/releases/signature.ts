import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { AppError } from '../../../shared/errors.js';
import { ALPINE_RELEASE_KEY, ALPINE_RELEASE_KEY_FINGERPRINT } from './alpine-release-key.js';
import { formatFingerprint } from './fingerprint.js';

/** Keys a release signature may come from: Alpine's pinned key, or the user's (--trusted-key). */
export interface TrustedKeys {
  keys: openpgp.PublicKey[];
  /** For messages: "Alpine release key 0482 D840 ..." or the file name. */
  description: string;
}

/**
 * The first of `signers` (fingerprints, or 16-digit key IDs) that is one of the trusted keys or
 * their subkeys, or null when none is trusted.
 */
export function trustedSigner(trusted: TrustedKeys, signers: readonly string[]): string | null {
  const known = new Set<string>();
  for (const key of trusted.keys) {
    for (const part of [key, ...key.getSubkeys()]) {
      known.add(part.getFingerprint().toLowerCase());
      known.add(part.getKeyID().toHex().toLowerCase());
    }
  }
  return signers.find((signer) => known.has(signer.toLowerCase())) ?? null;
}

export async function trustedKeys(trustedKeyFile?: string): Promise<TrustedKeys> {
  if (trustedKeyFile === undefined) {
    const key = await openpgp.readKey({ armoredKey: ALPINE_RELEASE_KEY });
    if (key.getFingerprint() !== ALPINE_RELEASE_KEY_FINGERPRINT)
      throw new AppError('internal', 'the built-in Alpine key does not have the pinned fingerprint');
    return { keys: [key], description: `Alpine release key ${formatFingerprint(ALPINE_RELEASE_KEY_FINGERPRINT)}` };
  }
  const text = await readFile(trustedKeyFile, 'utf8').catch((error: unknown) => {
    throw new AppError('not-found', `cannot read the trusted key: ${(error as Error).message}`, {
      location: '--trusted-key',
      cause: error,
    });
  });
  try {
    const keys = await openpgp.readKeys({ armoredKeys: text });
    return {
      keys,
      description: `${trustedKeyFile} (${keys.map((key) => formatFingerprint(key.getFingerprint())).join(', ')})`,
    };
  } catch (error) {
    throw new AppError('invalid-input', `${trustedKeyFile} holds no OpenPGP public key (${(error as Error).message})`, {
      location: '--trusted-key',
      cause: error,
    });
  }
}

/**
 * Check the detached OpenPGP signature `armoredSignature` of `file` against the trusted keys,
 * reading the file as a stream. Returns the fingerprint of the key that signed it.
 */
export async function verifySignature(
  file: string,
  armoredSignature: string,
  trusted: TrustedKeys,
  source: string,
): Promise<string> {
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch (error) {
    throw new AppError(
      'invalid-media',
      `the signature file is not a valid OpenPGP signature (${(error as Error).message})`,
      {
        location: source,
        hint: 'the .asc is damaged or not a signature; download again or try another mirror',
      },
    );
  }
  const message = await openpgp.createMessage({
    binary: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
  });
  const verification = await openpgp.verify({ message, signature, verificationKeys: trusted.keys, format: 'binary' });
  const reader = (verification.data as ReadableStream<Uint8Array>).getReader();
  while (!(await reader.read()).done) {
    // the signature is checked over the whole stream
  }
  const [result] = verification.signatures;
  if (result === undefined)
    throw new AppError('invalid-media', 'the signature file holds no signature', { location: source });
  try {
    await result.verified;
  } catch (error) {
    const message = (error as Error).message;
    if (/Could not find signing key/i.test(message)) {
      throw new AppError(
        'invalid-media',
        `signed by key ${result.keyID.toHex().toUpperCase()}, which is not the ${trusted.description}`,
        {
          location: source,
          hint: 'this file was not signed by Alpine; for a private mirror, pass its key with --trusted-key',
        },
      );
    }
    throw new AppError('invalid-media', `the signature does not match the file (${message})`, {
      location: source,
      hint: 'the file was changed after it was signed; it is deleted, download it again',
    });
  }
  const signer = trusted.keys.find((key) => key.getKeys(result.keyID).length > 0);
  return signer?.getFingerprint() ?? result.keyID.toHex();
}
