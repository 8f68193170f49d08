import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRouter } from '../../shared/ipc/router.js';
import { createServices } from '../../main/services/index.js';
import { createHandlers, type FileDialogs } from '../../main/services/ipc-handlers.js';

/**
 * The renderer in Debian's Chromium, with the IPC transport replaced: an init script installs
 * `window.apkovl` whose invoke goes (through Playwright) to the real router and services, and
 * whose events come back through page.evaluate. Only the Electron preload is left out.
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(chromiumPath);
const rendererDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/renderer');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
};

function serve(directory: string): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const name =
      decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(directory, name);
    if (!file.startsWith(directory) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export interface Harness {
  page: Page;
  /** Paths the fake file dialogs return, in order (null = the user cancelled). */
  dialogAnswers: (string | null)[];
  /** Every event sent to the page. */
  events: { name: string; payload: unknown }[];
  close(): Promise<void>;
}

export async function openRenderer(): Promise<Harness> {
  if (!existsSync(path.join(rendererDir, 'index.html'))) throw new Error('dist/renderer is missing: run npm run build');
  const server = await serve(rendererDir);
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const dialogAnswers: (string | null)[] = [];
  const events: { name: string; payload: unknown }[] = [];
  const dialogs: FileDialogs = {
    openFile: () => Promise.resolve(dialogAnswers.shift() ?? null),
    saveFile: () => Promise.resolve(dialogAnswers.shift() ?? null),
  };
  const router = createRouter(
    createHandlers(createServices({ now: () => performance.now(), env: process.env }), {
      dialogs,
      app: {
        name: 'Apkovl Studio',
        version: 'test',
        platform: process.platform,
        deviceAccess: { mode: 'privileged', detail: null },
      },
    }),
    { onBug: (error, command) => console.error(`[${command}]`, error) },
  );
  await page.exposeFunction('__apkovlInvoke', (command: string, input: unknown) =>
    router.handle(command, input, {
      emit: (name, payload) => {
        events.push({ name, payload });
        page
          .evaluate(
            (event) => (globalThis as unknown as { __apkovlDeliver(e: unknown): void }).__apkovlDeliver(event),
            { name, payload },
          )
          .catch(() => undefined);
      },
    }),
  );
  await page.addInitScript(() => {
    const listeners = new Set<(event: { name: string; payload: unknown }) => void>();
    const target = globalThis as unknown as Record<string, unknown>;
    target.__apkovlDeliver = (event: { name: string; payload: unknown }) =>
      listeners.forEach((listener) => listener(event));
    target.apkovl = {
      invoke: (command: string, input: unknown) =>
        (target.__apkovlInvoke as (c: string, i: unknown) => Promise<unknown>)(command, input),
      subscribe(listener: (event: { name: string; payload: unknown }) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  });
  const address = server.address() as AddressInfo;
  await page.goto(`http://127.0.0.1:${address.port}/index.html`);
  return {
    page,
    dialogAnswers,
    events,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
