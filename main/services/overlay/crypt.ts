import { createHash, createHmac } from 'node:crypto';

/**
 * SHA-512-crypt (`$6$`), the password hash busybox and musl on Alpine use by default, as
 * specified by Ulrich Drepper ("Unix crypt using SHA-256 and SHA-512"). musl has no yescrypt.
 */

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;

function sha512(...parts: (Buffer | string)[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Bytes of `digest` repeated to `length`. */
function repeatTo(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += digest.length)
    digest.copy(out, offset, 0, Math.min(digest.length, length - offset));
  return out;
}

function encode24(out: string[], a: number, b: number, c: number, count: number): void {
  let value = (a << 16) | (b << 8) | c;
  for (let index = 0; index < count; index += 1) {
    out.push(ITOA64[value & 0x3f] as string);
    value >>>= 6;
  }
}

const ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const;

export function sha512Crypt(password: string, salt: string, rounds = ROUNDS_DEFAULT): string {
  const key = Buffer.from(password, 'utf8');
  const saltBytes = Buffer.from(salt.slice(0, 16), 'utf8');
  const alternate = sha512(key, saltBytes, key);
  const a = createHash('sha512').update(key).update(saltBytes);
  a.update(repeatTo(alternate, key.length));
  for (let length = key.length; length > 0; length >>= 1) a.update(length & 1 ? alternate : key);
  let digest = a.digest();

  const dp = createHash('sha512');
  for (let index = 0; index < key.length; index += 1) dp.update(key);
  const p = repeatTo(dp.digest(), key.length);
  const ds = createHash('sha512');
  for (let index = 0; index < 16 + (digest[0] as number); index += 1) ds.update(saltBytes);
  const s = repeatTo(ds.digest(), saltBytes.length);

  for (let round = 0; round < rounds; round += 1) {
    const c = createHash('sha512');
    c.update(round & 1 ? p : digest);
    if (round % 3) c.update(s);
    if (round % 7) c.update(p);
    c.update(round & 1 ? digest : p);
    digest = c.digest();
  }

  const out: string[] = [];
  for (const [x, y, z] of ORDER) encode24(out, digest[x] as number, digest[y] as number, digest[z] as number, 4);
  encode24(out, 0, 0, digest[63] as number, 2);
  const roundsPart = rounds === ROUNDS_DEFAULT ? '' : `rounds=${rounds}$`;
  return `$6$${roundsPart}${saltBytes.toString('utf8')}$${out.join('')}`;
}

/**
 * A salt for a reproducible overlay: 16 characters derived from the host, the user and the
 * password itself, so the same definition and secrets always give the same hash while two users
 * (or two machines) with the same password get different ones.
 */
export function derivedSalt(password: string, context: string): string {
  const bytes = createHmac('sha256', password).update(`apkovl-salt\0${context}`).digest();
  let salt = '';
  for (let index = 0; index < 16; index += 1) salt += ITOA64[(bytes[index] as number) & 0x3f];
  return salt;
}
