import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import {
  gzipMemberEnd,
  gzipProblemError,
  trailingData,
  trailingDataError,
  type ByteRange,
} from '../boot-media/gzip-end.js';
import { bufferSource, TarFormatError, TarReader } from '../boot-media/tar-reader.js';
import { ALPINE_APK_KEYS, ALPINE_APK_KEYS_BY_ARCH } from './alpine-apk-keys.js';

/**
 * Signatures of apk's signed gzip concatenations (APKINDEX.tar.gz and .apk files), as
 * abuild-sign makes them and apk-tools 2 checks them:
 *
 * - the file is gzip members back to back; the first one is a tar (without its end-of-archive
 *   blocks: `abuild-tar --cut`) holding `.SIGN.RSA.<key name>` (RSA PKCS#1 v1.5 over SHA-1),
 *   `.SIGN.RSA256.<key name>` (SHA-256) or `.SIGN.RSA512.<key name>` (SHA-512), where the key
 *   name is the public key's file name in /etc/apk/keys;
 * - the signature covers the raw compressed bytes of the gzip member that follows it
 *   (`openssl dgst -sign ... control.tar.gz` or `... APKINDEX.tar.gz`, then
 *   `cat signature.tar.gz signed.tar.gz`). For an index that is the rest of the file. For a
 *   package it is the control member (.PKGINFO); the data member after it is covered by the
 *   `datahash` (SHA-256 of its compressed bytes) in .PKGINFO, not by the signature.
 */

export type ApkSignatureType = 'RSA' | 'RSA256' | 'RSA512';

const DIGESTS: Record<ApkSignatureType, string> = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };

/** The keys trusted for one architecture: Alpine's, plus any given with --apk-key. */
export interface ApkKeyring {
  arch: string;
  /** Key name (file name, as in `.SIGN.RSA.<name>`) -> public key. */
  keys: ReadonlyMap<string, KeyObject>;
  /** Names of the keys added with --apk-key. */
  extra: readonly string[];
}

export type ApkSignatureProblem = 'unsigned' | 'unknown-key' | 'bad-signature' | 'corrupt';

/** A signature check that failed, with why (for callers and tests that need to tell them apart). */
export class ApkSignatureError extends AppError {
  constructor(
    readonly problem: ApkSignatureProblem,
    message: string,
    options: { location: string; hint: string; cause?: unknown },
  ) {
    super('invalid-media', message, options);
    this.name = 'ApkSignatureError';
  }
}

/** Parse a PEM RSA public key; `source` names it in errors. */
export function parseApkKey(pem: string | Buffer, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new AppError('invalid-input', `not a PEM public key (${(error as Error).message})`, {
      location: source,
      hint: 'give the repository\'s public key file, as abuild-keygen writes it (NAME.rsa.pub, "-----BEGIN PUBLIC KEY-----")',
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AppError('invalid-input', `a ${key.asymmetricKeyType ?? 'non-RSA'} key: apk signatures use RSA keys`, {
      location: source,
      hint: "give the repository's RSA public key (NAME.rsa.pub)",
    });
  }
  return key;
}

/** Alpine's keys for `arch` (those the alpine-keys package installs for it). */
export function alpineApkKeyring(arch: string): ApkKeyring {
  const names = ALPINE_APK_KEYS_BY_ARCH[arch];
  if (names === undefined) {
    throw new AppError('invalid-input', `no Alpine package keys are known for the architecture ${displayText(arch)}`, {
      location: 'arch',
      hint: `use one of ${Object.keys(ALPINE_APK_KEYS_BY_ARCH).join(', ')}`,
    });
  }
  const keys = new Map<string, KeyObject>();
  for (const name of names) keys.set(name, parseApkKey(ALPINE_APK_KEYS[name] as string, `built-in key ${name}`));
  return { arch, keys, extra: [] };
}

/**
 * Alpine's keys for `arch`, and the PEM files given with --apk-key: each is trusted under its
 * file's base name, as apk trusts the files in /etc/apk/keys.
 */
export async function apkKeyring(arch: string, extraKeyFiles: readonly string[] = []): Promise<ApkKeyring> {
  const base = alpineApkKeyring(arch);
  const keys = new Map(base.keys);
  const extra: string[] = [];
  for (const file of extraKeyFiles) {
    const pem = await readFile(file).catch((error: unknown) => {
      throw new AppError('invalid-input', `cannot read the apk key file: ${(error as Error).message}`, {
        location: `--apk-key ${file}`,
        hint: "give the path of the repository's public key file (NAME.rsa.pub)",
        cause: error,
      });
    });
    const name = path.basename(file);
    keys.set(name, parseApkKey(pem, `--apk-key ${file}`));
    extra.push(name);
  }
  return { arch, keys, extra };
}

export interface ApkSignature {
  type: ApkSignatureType;
  keyName: string;
  signature: Buffer;
}

export interface VerifiedApkSignature {
  keyName: string;
  type: ApkSignatureType;
  /** Where the signed gzip member starts (the end of the signature member). */
  signedStart: number;
  /** Just past the signed gzip member. */
  signedEnd: number;
}

/** The largest signature member accepted (real ones are under 2 KiB inflated). */
const MAX_SIGNATURE_TAR = 1 << 20;

/** A gzip member that must be whole, at `start`: its end, or an error with byte offsets. */
async function memberEnd(range: ByteRange, start: number, member: number, source: string, what: string) {
  const found = await gzipMemberEnd(range, start, member);
  if (found.kind === 'member') return found;
  const context = { source, code: 'invalid-media' as const, again: 'download it again, or use another mirror' };
  if (found.kind === 'not-gzip') {
    throw new ApkSignatureError('corrupt', `${what} is not gzip data`, {
      location: `${source}, byte ${start}`,
      hint: context.again,
    });
  }
  if (found.kind === 'truncated') {
    throw new ApkSignatureError('corrupt', `${what} ends early: the file is truncated (${range.size} bytes)`, {
      location: `${source}, gzip member ${member} from byte ${found.memberStart} to the end at byte ${range.size}`,
      hint: context.again,
    });
  }
  const error = gzipProblemError(found, context);
  throw new ApkSignatureError('corrupt', `${what}: ${error.message}`, {
    location: error.location ?? source,
    hint: error.hint ?? context.again,
  });
}

/** The .SIGN.* members of the first gzip member of a signed apk file, and where that member ends. */
export async function readApkSignatures(
  range: ByteRange,
  source: string,
): Promise<{ signatures: ApkSignature[]; signatureEnd: number; members: string[] }> {
  if (range.size === 0) {
    throw new ApkSignatureError('corrupt', 'the file is empty', { location: source, hint: 'download it again' });
  }
  const first = await memberEnd(range, 0, 1, source, 'the signature (first gzip member)');
  if (first.inflatedLength > MAX_SIGNATURE_TAR) {
    throw new ApkSignatureError(
      'unsigned',
      `the first gzip member inflates to ${first.inflatedLength} bytes: it is not a signature`,
      {
        location: `${source}, bytes 0-${first.end - 1}`,
        hint: 'the file is not signed; sign it with abuild-sign, or use a signed repository',
      },
    );
  }
  const tar = zlib.gunzipSync(await range.read(0, first.end));
  const reader = new TarReader(bufferSource(tar));
  const signatures: ApkSignature[] = [];
  const members: string[] = [];
  try {
    for (let member = await reader.next(); member !== null; member = await reader.next()) {
      members.push(member.name);
      const match = /^\.SIGN\.(RSA|RSA256|RSA512)\.(.+)$/.exec(member.name);
      if (match === null || member.type !== 'file') continue;
      const chunks: Buffer[] = [];
      for (let piece = await reader.read(); piece !== null; piece = await reader.read())
        chunks.push(Buffer.from(piece));
      signatures.push({
        type: match[1] as ApkSignatureType,
        keyName: match[2] as string,
        signature: Buffer.concat(chunks),
      });
    }
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    // A tar member that does not parse is not a signature; the gzip framing was sound.
    if (signatures.length === 0) {
      throw new ApkSignatureError(
        'unsigned',
        `the first gzip member is not a tar of .SIGN.* members (${error.message})`,
        {
          location: `${source}, bytes 0-${first.end - 1}`,
          hint: 'the file is not signed; sign it with abuild-sign, or use a signed repository',
          cause: error,
        },
      );
    }
  }
  return { signatures, signatureEnd: first.end, members };
}

function describeKeys(keyring: ApkKeyring): string {
  return [...keyring.keys.keys()].join(', ');
}

/**
 * Check the signature of a signed apk file (an APKINDEX.tar.gz or a .apk) against the keyring:
 * the first gzip member signs the raw bytes of the second. With `wholeFile` (an index), nothing
 * but zero padding may follow the signed member. Throws ApkSignatureError: unsigned, signed by
 * an unknown key, a signature that does not match, or damaged gzip data (with byte offsets).
 */
export async function verifyApkSignature(
  range: ByteRange,
  keyring: ApkKeyring,
  source: string,
  options: { wholeFile?: boolean } = {},
): Promise<VerifiedApkSignature> {
  const { signatures, signatureEnd, members } = await readApkSignatures(range, source);
  if (signatures.length === 0) {
    const held = members.length === 0 ? 'nothing' : members.slice(0, 3).map(displayText).join(', ');
    throw new ApkSignatureError(
      'unsigned',
      `the file is not signed: its first gzip member holds ${held}, not a .SIGN.RSA, .SIGN.RSA256 or .SIGN.RSA512 signature`,
      {
        location: `${source}, bytes 0-${signatureEnd - 1}`,
        hint: 'an unsigned index or package cannot be trusted; sign it with abuild-sign, or use a mirror that serves signed files',
      },
    );
  }
  const chosen = signatures.find((candidate) => keyring.keys.has(candidate.keyName));
  if (chosen === undefined) {
    const names = signatures.map((candidate) => displayText(candidate.keyName)).join(', ');
    throw new ApkSignatureError(
      'unknown-key',
      `signed by ${signatures.length === 1 ? 'the key' : 'the keys'} ${names}, which ${signatures.length === 1 ? 'is' : 'are'} not trusted for ${keyring.arch} (trusted: ${describeKeys(keyring)})`,
      {
        location: `${source}, bytes 0-${signatureEnd - 1}`,
        hint: `if this is your own or a private repository, trust its public key with --apk-key FILE (the key file named ${displayText(signatures[0]?.keyName ?? '')})`,
      },
    );
  }
  if (signatureEnd >= range.size) {
    throw new ApkSignatureError('corrupt', 'the file ends after its signature: the signed data is missing', {
      location: `${source}, byte ${signatureEnd}`,
      hint: 'the file is truncated; download it again',
    });
  }
  const signed = await memberEnd(range, signatureEnd, 2, source, 'the signed data (second gzip member)');
  if (options.wholeFile === true) {
    const trailing = await trailingData(range, signed.end);
    if (trailing !== null) {
      const error = trailingDataError(trailing, {
        source,
        code: 'invalid-media',
        again: 'download it again, or use another mirror',
      });
      throw new ApkSignatureError('corrupt', `unsigned data after the signed index: ${error.message}`, {
        location: error.location ?? source,
        hint: error.hint ?? 'download it again',
      });
    }
  }
  const verifier = createVerify(DIGESTS[chosen.type]);
  const PIECE = 1 << 20;
  for (let position = signatureEnd; position < signed.end; position += PIECE) {
    verifier.update(await range.read(position, Math.min(PIECE, signed.end - position)));
  }
  const key = keyring.keys.get(chosen.keyName) as KeyObject;
  let good: boolean;
  try {
    good = verifier.verify(key, chosen.signature);
  } catch {
    good = false;
  }
  if (!good) {
    throw new ApkSignatureError(
      'bad-signature',
      `the ${chosen.type} signature by ${displayText(chosen.keyName)} does not match bytes ${signatureEnd}-${signed.end - 1}: the file was changed after it was signed`,
      {
        location: source,
        hint: 'the file was tampered with or damaged on the way; it was not used. Download it again or use another mirror',
      },
    );
  }
  return { keyName: chosen.keyName, type: chosen.type, signedStart: signatureEnd, signedEnd: signed.end };
}
