import { protocol, type Session } from 'electron';
import { readFile } from 'node:fs/promises';
import { APP_SCHEME, resolveAppUrl } from './app-protocol.js';
import { rendererRoot } from './paths.js';

/** Before `ready`: app:// is a standard, secure scheme (so 'self' in the CSP means only it). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** After `ready`: serve dist/renderer under app://studio/, with the CSP header; nothing else. */
export function serveApp(session: Session): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const resolved = resolveAppUrl(request.url, rendererRoot);
    if (resolved === null) return new Response('not found', { status: 404 });
    try {
      return new Response(await readFile(resolved.file), { headers: resolved.headers });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}
