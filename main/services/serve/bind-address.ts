import { AppError } from '../../../shared/errors.js';
import { isIpv4, isIpv6 } from '../../../shared/rules/network.js';
import { displayText } from '../../../shared/rules/display.js';

/** The address `--bind` names: an IP address (or localhost), checked. */
export function bindAddress(text: string): string {
  if (text === 'localhost') return '127.0.0.1';
  const bare = text.replace(/^\[(.*)\]$/, '$1');
  if (isIpv4(bare) || isIpv6(bare)) return bare;
  throw new AppError('usage', `${displayText(text)} is not an IP address to listen on`, {
    location: '--bind',
    hint: 'give an address of this machine, e.g. 192.168.1.10, 0.0.0.0 for all IPv4 interfaces or :: for all',
  });
}

/** Whether only this machine can reach `address` (127.0.0.0/8, ::1). */
export function isLoopback(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '');
  if (isIpv4(v4)) return v4.startsWith('127.');
  return isIpv6(address) && /^[0:]+:0{0,3}1$/.test(address);
}

/** Whether `address` means every interface. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || (isIpv6(address) && /^[0:]+$/.test(address));
}

/** A port for `--port`: 0 (any free port) to 65535. */
export function portNumber(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new AppError('usage', `${displayText(text)} is not a port number`, {
      location: '--port',
      hint: 'give 1 to 65535 (0: any free port)',
    });
  }
  return Number(text);
}

/** An address in a URL: IPv6 in brackets. */
export function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
