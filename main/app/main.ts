import { app, Menu, session } from 'electron';
import { createRouter } from '../../shared/ipc/router.js';
import { createAppHandlers } from './app-handlers.js';
import { electronDialogs } from './dialogs.js';
import { setupIpc } from './ipc.js';
import { menuTemplate } from './menu-template.js';
import { registerAppScheme, serveApp } from './protocol.js';
import { createQuitGuard } from './quit-guard.js';
import { createRecentStore } from './recent-store.js';
import { createSettingsStore } from './settings-store.js';
import { hardenSession } from './security.js';
import { createMainWindow } from './window.js';
import { workerSetup } from './app-setup.js';
import { removeStaleWorkerCopies } from './worker-command.js';

/**
 * Electron main process: windows, dialogs and the workers, nothing else. Every job runs in an
 * `apkovl worker` process (app-handlers.ts); the logic lives in Electron-free modules.
 */
const log = (text: string) => process.stderr.write(text);

async function start(): Promise<void> {
  await app.whenReady();
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform, app.getName())));
  hardenSession(session.defaultSession);
  serveApp(session.defaultSession);
  // AppImage copies of the worker that a crashed session left behind.
  if (process.platform === 'linux') await removeStaleWorkerCopies().catch(() => []);
  const { handlers, shutdown } = createAppHandlers({
    app: { name: app.getName(), version: app.getVersion(), platform: process.platform },
    ...workerSetup({
      packaged: app.isPackaged,
      resourcesPath: process.resourcesPath,
      appRoot: app.getAppPath(),
      platform: process.platform,
      uid: process.getuid?.(),
      env: process.env,
    }),
    dialogs: electronDialogs(),
    recent: createRecentStore({ directory: app.getPath('userData') }),
    settings: createSettingsStore({ directory: app.getPath('userData') }),
    log,
  });
  app.on(
    'before-quit',
    createQuitGuard({
      shutdown: () => shutdown({ timeoutMs: 10_000 }),
      exit: () => app.exit(0),
      timeoutMs: 15_000,
      log,
    }),
  );
  setupIpc(createRouter(handlers, { onBug: (error, command) => console.error(`[${command}]`, error) }));
  createMainWindow();
}

registerAppScheme();
app.enableSandbox();
app.on('window-all-closed', () => app.quit());
start().catch((error: unknown) => {
  console.error(error);
  app.exit(1);
});
