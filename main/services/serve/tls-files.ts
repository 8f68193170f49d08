import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The certificate's subject and end of validity, for the log. */
  subject: string;
  validTo: Date;
}

async function readPem(file: string, what: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new AppError('not-found', `cannot read the TLS ${what} ${displayText(file)}: ${(error as Error).message}`, {
      location: option,
      hint: `give a readable PEM file with ${option}`,
      cause: error,
    });
  }
}

/**
 * The certificate and key for `apkovl serve --tls-cert/--tls-key`, checked before anything
 * listens: both readable, a PEM certificate (the first of a chain), an unencrypted PEM private
 * key, and the key the certificate was made for.
 */
export async function loadTls(files: TlsFiles): Promise<TlsMaterial> {
  const cert = await readPem(files.certFile, 'certificate', '--tls-cert');
  const key = await readPem(files.keyFile, 'key', '--tls-key');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new AppError('invalid-input', `${displayText(files.certFile)} is not a PEM certificate`, {
      location: '--tls-cert',
      hint: 'give the certificate (-----BEGIN CERTIFICATE-----), e.g. from openssl req -x509',
      cause: error,
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const encrypted = /ENCRYPTED/.test(key.toString('latin1'));
    throw new AppError(
      'invalid-input',
      `${displayText(files.keyFile)} is not ${encrypted ? 'an unencrypted' : 'a PEM'} private key`,
      {
        location: '--tls-key',
        hint: encrypted
          ? 'the server starts unattended: decrypt the key (openssl pkey -in key.pem -out plain.pem) and keep it private'
          : 'give the private key (-----BEGIN PRIVATE KEY-----) that belongs to the certificate',
        cause: error,
      },
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new AppError(
      'invalid-input',
      `the key ${displayText(files.keyFile)} does not belong to the certificate ${displayText(files.certFile)}`,
      { location: '--tls-key', hint: 'give the key the certificate was made for' },
    );
  }
  return { cert, key, subject: certificate.subject.replace(/\n/g, ', '), validTo: new Date(certificate.validTo) };
}
