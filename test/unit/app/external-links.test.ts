import { describe, expect, it } from 'vitest';
import { allowedExternalUrl, isAllowedExternal } from '../../../main/app/external-links.js';

describe('links opened in the browser', () => {
  it.each([
    'https://wiki.alpinelinux.org/wiki/Raspberry_Pi',
    'https://alpinelinux.org/downloads/',
    'https://docs.alpinelinux.org/user-handbook/0.1a/index.html',
    'https://www.raspberrypi.com/documentation/computers/config_txt.html',
    'https://WIKI.alpinelinux.org/wiki/Diskless_Mode',
  ])('opens %s', (url) => {
    expect(isAllowedExternal(url)).toBe(true);
  });

  it.each([
    ['plain http', 'http://wiki.alpinelinux.org/'],
    ['another host', 'https://example.org/'],
    ['a look-alike host', 'https://wiki.alpinelinux.org.evil.example/'],
    ['a subdomain not listed', 'https://evil.alpinelinux.org/'],
    ['a trailing-dot host', 'https://wiki.alpinelinux.org./'],
    ['credentials', 'https://user:secret@wiki.alpinelinux.org/'],
    ['a user name only', 'https://user@wiki.alpinelinux.org/'],
    ['a port', 'https://wiki.alpinelinux.org:8443/'],
    ['a file URL', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['a custom scheme', 'app://studio/index.html'],
    ['not a URL', 'wiki.alpinelinux.org'],
  ])('refuses %s', (_what, url) => {
    expect(isAllowedExternal(url)).toBe(false);
  });

  it('hands the browser the normalised URL', () => {
    expect(allowedExternalUrl('https://WWW.RaspberryPi.com/documentation')).toBe(
      'https://www.raspberrypi.com/documentation',
    );
  });
});
