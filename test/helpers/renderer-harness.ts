import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRouter } from '../../shared/ipc/router.js';
import { AppError } from '../../shared/errors.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import { createServices, type Services } from '../../main/services/index.js';
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

export interface HarnessOptions {
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  /** Environment of the services (e.g. APKOVL_CACHE_DIR for a private download cache). */
  env?: Record<string, string | undefined>;
  /**
   * A release key trusted besides Alpine's, as `--trusted-key` gives the CLI: the contract's
   * release commands take no key, so the test composition sets it for a synthetic mirror.
   */
  trustedKeyFile?: string;
  /** What app.info says about drive access. */
  deviceAccess?: CommandOutput<'app.info'>['deviceAccess'];
}

type Recent = CommandOutput<'recent.list'>['definitions'];

/** The services, with a trusted release key added to every release look-up (as --trusted-key does). */
function withTrustedKey(services: Services, trustedKeyFile: string | undefined): Services {
  if (trustedKeyFile === undefined) return services;
  return {
    ...services,
    fetchRelease: (options) => services.fetchRelease({ ...options, trustedKeyFile }),
    async cachedRelease({ mirrors, ...query }) {
      try {
        return await services.fetchRelease({
          ...query,
          ...(mirrors.length > 0 ? { mirrors } : {}),
          offline: true,
          trustedKeyFile,
        });
      } catch (error) {
        if (error instanceof AppError && error.code === 'not-found') return null;
        throw error;
      }
    },
  };
}

export interface Harness {
  page: Page;
  /** Paths the fake file dialogs return, in order (null = the user cancelled). */
  dialogAnswers: (string | null)[];
  /** What each file dialog was opened with. */
  dialogs: { kind: 'open' | 'save'; options: unknown }[];
  /** Definitions opened and saved, newest first (what recent.list answers). */
  recent: Recent;
  /** Every event sent to the page. */
  events: { name: string; payload: unknown }[];
  close(): Promise<void>;
}

export async function openRenderer(options: HarnessOptions = {}): Promise<Harness> {
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
  const page = await browser.newPage({
    viewport: options.viewport ?? { width: 1100, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  });
  const dialogAnswers: (string | null)[] = [];
  const dialogCalls: Harness['dialogs'] = [];
  const events: { name: string; payload: unknown }[] = [];
  const dialogs: FileDialogs = {
    openFile: (shown) => {
      dialogCalls.push({ kind: 'open', options: shown });
      return Promise.resolve(dialogAnswers.shift() ?? null);
    },
    saveFile: (shown) => {
      dialogCalls.push({ kind: 'save', options: shown });
      return Promise.resolve(dialogAnswers.shift() ?? null);
    },
  };
  // The desktop app's list of recent definitions, kept in memory: every definition read or saved.
  const recent: Recent = [];
  const remember = (file: string, yaml: string) => {
    const hostname = /^hostname:\s*"?([A-Za-z0-9.-]+)"?/m.exec(yaml)?.[1] ?? null;
    const index = recent.findIndex((entry) => entry.path === file);
    if (index >= 0) recent.splice(index, 1);
    recent.unshift({ path: file, hostname, usedAt: new Date().toISOString() });
  };
  const services = withTrustedKey(
    createServices({ now: () => performance.now(), env: { ...process.env, ...options.env } }),
    options.trustedKeyFile,
  );
  const handlers = createHandlers(services, {
    dialogs,
    app: {
      name: 'Apkovl Studio',
      version: 'test',
      platform: process.platform,
      deviceAccess: options.deviceAccess ?? { mode: 'privileged', detail: null },
    },
    recent: { list: () => Promise.resolve([...recent]) },
  });
  const router = createRouter(
    {
      ...handlers,
      'definition.read': async (input, context) => {
        const read = await handlers['definition.read'](input, context);
        remember(read.path, read.yaml);
        return read;
      },
      'definition.save': async (input, context) => {
        const saved = await handlers['definition.save'](input, context);
        remember(saved.path, input.yaml);
        return saved;
      },
    },
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
    dialogs: dialogCalls,
    recent,
    events,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
