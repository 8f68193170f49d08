import { pbkdf2Sync } from 'node:crypto';

/**
 * The WPA pre-shared key wpa_passphrase writes: PBKDF2-HMAC-SHA1(passphrase, SSID, 4096, 32)
 * as 64 hex digits. Stored instead of the passphrase, which never reaches the card.
 */
export function deriveWpaPsk(passphrase: string, ssid: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(passphrase)) return passphrase.toLowerCase();
  return pbkdf2Sync(Buffer.from(passphrase, 'utf8'), Buffer.from(ssid, 'utf8'), 4096, 32, 'sha1').toString('hex');
}
