import { describe, expect, it } from 'vitest';
import { isLoopback, isWildcard, bindAddress, portNumber } from '../../../main/services/serve/bind-address.js';
import { parseRequestTarget } from '../../../main/services/serve/request-target.js';

describe('the request targets apkovl serve answers', () => {
  it.each([
    ['/52:54:00:12:34:56.apkovl.tar.gz', '52:54:00:12:34:56'],
    ['/52-54-00-AB-CD-EF.apkovl.tar.gz', '52:54:00:ab:cd:ef'],
    ['/525400ABCDEF.apkovl.tar.gz', '52:54:00:ab:cd:ef'],
    ['/52%3A54%3A00%3A12%3A34%3A56.apkovl.tar.gz', '52:54:00:12:34:56'],
    ['/52:54:00:12:34:56.apkovl.tar.gz?ignored=1', '52:54:00:12:34:56'],
  ])('%s is the MAC %s', (target, mac) => {
    expect(parseRequestTarget('GET', target)).toMatchObject({ kind: 'apkovl', mac });
  });

  it('takes a host name, and HEAD as GET', () => {
    expect(parseRequestTarget('HEAD', '/kiosk-hall.apkovl.tar.gz')).toEqual({
      kind: 'apkovl',
      name: 'kiosk-hall',
      mac: null,
    });
    // Mixed separators are not a MAC.
    expect(parseRequestTarget('GET', '/52:54-00:12:34:56.apkovl.tar.gz')).toMatchObject({ mac: null });
  });

  it.each([
    ['POST', '/a.apkovl.tar.gz', 405],
    ['PUT', '/a.apkovl.tar.gz', 405],
    ['DELETE', '/a.apkovl.tar.gz', 405],
    ['GET', 'http://127.0.0.1/a.apkovl.tar.gz', 400],
    ['GET', '*', 400],
    ['GET', '//etc/passwd', 400],
    ['GET', '/../etc/passwd', 400],
    ['GET', '/./a.apkovl.tar.gz', 400],
    ['GET', '/%2e%2e/etc/passwd', 400],
    ['GET', '/..%2f..%2fetc%2fpasswd', 400],
    ['GET', '/..%5cetc', 400],
    ['GET', '/%E0%A4%A.apkovl.tar.gz', 400],
    ['GET', '/a%00.apkovl.tar.gz', 400],
    ['GET', '/a%0a.apkovl.tar.gz', 400],
    ['GET', '/fleet/kiosk.apkovl.tar.gz', 404],
    ['GET', '/kiosk.secrets.yml', 404],
    ['GET', '/kiosk.yml', 404],
    ['GET', '/', 404],
    ['GET', '/.hidden.apkovl.tar.gz', 404],
    ['GET', '/a\\b.apkovl.tar.gz', 404],
  ])('%s %s is refused with %i', (method, target, status) => {
    const parsed = parseRequestTarget(method, target);
    expect(parsed).toMatchObject({ kind: 'refused', status });
  });
});

describe('bind addresses', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
  ])('%s is loopback: %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });

  it('knows the wildcard addresses and refuses names', () => {
    expect(isWildcard('0.0.0.0')).toBe(true);
    expect(isWildcard('::')).toBe(true);
    expect(isWildcard('127.0.0.1')).toBe(false);
    expect(bindAddress('localhost')).toBe('127.0.0.1');
    expect(bindAddress('[::1]')).toBe('::1');
    expect(() => bindAddress('example.com')).toThrow(/not an IP address/);
    expect(portNumber('0')).toBe(0);
    expect(() => portNumber('65536')).toThrow(/not a port number/);
    expect(() => portNumber('-1')).toThrow(/not a port number/);
  });
});
