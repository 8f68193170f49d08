/** Documentation sites the app may open in the browser; nothing else leaves the window. */
export const DOCUMENTATION_HOSTS: readonly string[] = [
  'alpinelinux.org',
  'wiki.alpinelinux.org',
  'docs.alpinelinux.org',
  'www.alpinelinux.org',
  'www.raspberrypi.com',
];

/**
 * Whether a link may be opened with the system browser: https, a documentation host exactly,
 * the default port, no user name or password. Returns the URL to open (normalised) or null.
 */
export function allowedExternalUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '')
    return null;
  if (!DOCUMENTATION_HOSTS.includes(parsed.hostname)) return null;
  return parsed.href;
}

export function isAllowedExternal(url: string): boolean {
  return allowedExternalUrl(url) !== null;
}
