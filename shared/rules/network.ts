/** Pure checks for addresses as they appear in a machine definition. */

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255);
}

export function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.includes(':::')) return false;
  const doubleColons = text.split('::').length - 1;
  if (doubleColons > 1) return false;
  let groups = text.split(':').filter((group) => group !== '');
  let expected = 8;
  const last = groups[groups.length - 1];
  if (last !== undefined && last.includes('.')) {
    if (!isIpv4(last)) return false;
    groups = groups.slice(0, -1);
    expected = 6;
  }
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return false;
  return doubleColons === 1 ? groups.length < expected : groups.length === expected;
}

export function isIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

/** `192.168.1.50/24` or `2001:db8::50/64`; null when fine, else why not. */
export function cidrProblem(text: string, family: 4 | 6): string | null {
  const [address, prefix, ...rest] = text.split('/');
  if (address === undefined || prefix === undefined || rest.length > 0) {
    return `write the address with its prefix length, e.g. ${family === 4 ? '192.168.1.50/24' : '2001:db8::50/64'}`;
  }
  if (family === 4 ? !isIpv4(address) : !isIpv6(address)) return `"${address}" is not an IPv${family} address`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max || Number(prefix) < 1) {
    return `the prefix length must be 1 to ${max}`;
  }
  return null;
}

/** Whether two IPv4 addresses share the network of `prefix` bits. */
export function sameIpv4Network(a: string, b: string, prefix: number): boolean {
  const toNumber = (address: string) => address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
  const size = 2 ** (32 - prefix);
  return Math.floor(toNumber(a) / size) === Math.floor(toNumber(b) / size);
}

/**
 * A MAC address written as `52:54:00:12:34:56`, `52-54-00-12-34-56` or `525400123456`, in any
 * case, in the lower-case colon form Alpine's initramfs substitutes for `{MAC}` in `apkovl=`;
 * null when it is not one.
 */
export function parseMac(text: string): string | null {
  const match = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
    text,
  );
  if (match === null) return null;
  return [1, 3, 4, 5, 6, 7].map((group) => (match[group] as string).toLowerCase()).join(':');
}

/** Why `text` is not the MAC address of a network interface, or null. */
export function macProblem(text: string): string | null {
  const mac = parseMac(text);
  if (mac === null)
    return 'not a MAC address: six pairs of hex digits, e.g. 52:54:00:12:34:56 (or with - or no separators)';
  if (mac === '00:00:00:00:00:00') return 'the all-zero MAC address belongs to no interface';
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1)
    return `${mac} is a multicast (or broadcast) address: an interface's own MAC has an even first byte`;
  return null;
}
