import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRouter } from '../../shared/ipc/router.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import { createAppHandlers } from '../../main/app/app-handlers.js';
import { createRecentStore } from '../../main/app/recent-store.js';
import { createSettingsStore } from '../../main/app/settings-store.js';
import type { FileDialogs } from '../../main/services/ipc-handlers.js';
import { cliPath } from './cli.js';
import { makeTempDir } from './temp.js';

/**
 * The renderer in Debian's Chromium, with the IPC transport replaced: an init script installs
 * `window.apkovl` whose invoke goes (through Playwright) to the app's own main-process handler
 * table (createAppHandlers: approved output paths, recent definitions, routing), which runs
 * every job in real `apkovl worker` processes, as the app does. Only Electron (window, preload,
 * app:// protocol) is left out.
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
  /** An apk signing key trusted besides Alpine's (`apkovl worker --apk-key`), for a synthetic package repository. */
  apkKeyFile?: string;
  /** What app.info says about drive access. */
  deviceAccess?: CommandOutput<'app.info'>['deviceAccess'];
}

type Recent = CommandOutput<'recent.list'>['definitions'];

export interface Harness {
  page: Page;
  /** Paths the fake file dialogs return, in order (null = the user cancelled). */
  dialogAnswers: (string | null)[];
  /** What each file dialog was opened with. */
  dialogs: { kind: 'open' | 'save'; options: unknown }[];
  /** Definitions opened and saved, newest first (what recent.list answers). */
  recent(): Promise<Recent>;
  /**
   * Close the workers and start new ones on the next request (with the page as it is): new
   * workers are children of this process as it is now, e.g. inside a blkio throttle group.
   */
  restartWorkers(): Promise<void>;
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
  // The app's list of recent definitions, in a private folder.
  const state = makeTempDir('apkovl-harness-');
  const recent = createRecentStore({ directory: state.dir });
  const settings = createSettingsStore({ directory: state.dir });
  const workerEnv = Object.fromEntries(
    Object.entries(options.env ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const compose = () =>
    createAppHandlers({
      app: { name: 'Apkovl Studio', version: 'test', platform: process.platform },
      deviceAccess: options.deviceAccess ?? { mode: 'privileged', detail: null },
      dialogs,
      recent,
      settings,
      // The app in development starts `node dist/cli/apkovl.mjs worker` the same way.
      worker: () => ({
        command: process.execPath,
        args: [
          cliPath,
          'worker',
          ...(options.trustedKeyFile !== undefined ? ['--trusted-key', options.trustedKeyFile] : []),
          ...(options.apkKeyFile !== undefined ? ['--apk-key', options.apkKeyFile] : []),
        ],
        env: workerEnv,
      }),
      log: (text) => process.stderr.write(text),
    });
  let app = compose();
  let router = createRouter(app.handlers, { onBug: (error, command) => console.error(`[${command}]`, error) });
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
    recent: () => recent.list(),
    events,
    async restartWorkers() {
      await app.shutdown();
      app = compose();
      router = createRouter(app.handlers, { onBug: (error, command) => console.error(`[${command}]`, error) });
    },
    async close() {
      await browser.close();
      await app.shutdown();
      state.cleanup();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
