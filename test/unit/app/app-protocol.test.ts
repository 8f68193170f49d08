import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedRendererRequest,
  isAppUrl,
  resolveAppUrl,
} from '../../../main/app/app-protocol.js';

const root = path.resolve('/opt/studio/dist/renderer');

describe('app:// resolver', () => {
  it('serves the renderer folder with content types and the CSP header', () => {
    expect(resolveAppUrl('app://studio/', root)).toMatchObject({
      file: path.join(root, 'index.html'),
      contentType: 'text/html; charset=utf-8',
      headers: { 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' },
    });
    expect(resolveAppUrl('app://studio/index.html?x=1#top', root)?.file).toBe(path.join(root, 'index.html'));
    expect(resolveAppUrl('app://studio/app.js', root)?.contentType).toBe('text/javascript; charset=utf-8');
    expect(resolveAppUrl('app://studio/app.css', root)?.contentType).toBe('text/css; charset=utf-8');
    expect(resolveAppUrl('app://studio/icons/drive%20card.svg', root)?.file).toBe(
      path.join(root, 'icons', 'drive card.svg'),
    );
  });

  it.each([
    ['an encoded slash and parent', 'app://studio/..%2F..%2Fsecret.js'],
    ['a backslash', 'app://studio/..%5c..%5csecret.js'],
    ['a NUL byte', 'app://studio/index.html%00.js'],
    ['bad percent encoding', 'app://studio/%E0%A4%A.js'],
    ['another host', 'app://other/index.html'],
    ['credentials', 'app://user:pass@studio/index.html'],
    ['a port', 'app://studio:8080/index.html'],
    ['another scheme', 'file:///opt/studio/dist/renderer/index.html'],
    ['a type the app does not serve', 'app://studio/notes.txt'],
    ['no extension', 'app://studio/LICENSE'],
    ['not a URL', 'studio/index.html'],
  ])('refuses %s', (_what, url) => {
    expect(resolveAppUrl(url, root)).toBeNull();
  });

  it('keeps parent folders that the URL parser folds away inside the folder', () => {
    // WHATWG URL parsing removes `..` and `%2e%2e` segments before the path is seen.
    expect(resolveAppUrl('app://studio/../main/app/main.js', root)?.file).toBe(path.join(root, 'main/app/main.js'));
    expect(resolveAppUrl('app://studio/%2e%2e/%2e%2e/etc/passwd.html', root)?.file).toBe(
      path.join(root, 'etc/passwd.html'),
    );
  });

  it('keeps the CSP strict: own scripts and styles only, no network, no frames', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)/);
  });
});

describe('trusted frames and requests', () => {
  it('trusts only app://studio/ pages', () => {
    expect(isAppUrl('app://studio/index.html')).toBe(true);
    expect(isAppUrl('app://studio/index.html#/build')).toBe(true);
    expect(isAppUrl('app://studio.evil/index.html')).toBe(false);
    expect(isAppUrl('app://x@studio/index.html')).toBe(false);
    expect(isAppUrl('file:///index.html')).toBe(false);
    expect(isAppUrl('https://studio/index.html')).toBe(false);
    expect(isAppUrl('')).toBe(false);
  });

  it('lets the window load its own files and the developer tools, nothing else', () => {
    expect(isAllowedRendererRequest('app://studio/app.js')).toBe(true);
    expect(isAllowedRendererRequest('devtools://devtools/bundled/inspector.html')).toBe(true);
    expect(isAllowedRendererRequest('https://dl-cdn.alpinelinux.org/alpine/')).toBe(false);
    expect(isAllowedRendererRequest('http://127.0.0.1:8080/')).toBe(false);
    expect(isAllowedRendererRequest('file:///etc/passwd')).toBe(false);
    expect(isAllowedRendererRequest('ws://127.0.0.1:9000/')).toBe(false);
  });
});
