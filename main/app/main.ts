import { app, Menu, session } from 'electron';
import { AppError } from '../../shared/errors.js';
import { createRouter } from '../../shared/ipc/router.js';
import { createAppHandlers } from './app-handlers.js';
import { electronDialogs } from './dialogs.js';
import { setupIpc } from './ipc.js';
import { menuTemplate } from './menu-template.js';
import { registerAppScheme, serveApp } from './protocol.js';
import { createQuitGuard } from './quit-guard.js';
import { createRecentStore } from './recent-store.js';
import { hardenSession } from './security.js';
import { createMainWindow } from './window.js';
import { devWorkerCommand, type WorkerCommand } from './worker-command.js';

/**
 * Electron main process: windows, dialogs and the workers, nothing else. Every job runs in an
 * `apkovl worker` process (app-handlers.ts); the logic lives in Electron-free modules.
 */
const log = (text: string) => process.stderr.write(text);

/** The unprivileged worker: the CLI bundle under Node in development. */
function workerCommand(): WorkerCommand {
  if (app.isPackaged)
    throw new AppError('internal', 'this build does not say how to start its worker (packaged worker not wired)');
  return devWorkerCommand(app.getAppPath());
}

async function start(): Promise<void> {
  await app.whenReady();
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform, app.getName())));
  hardenSession(session.defaultSession);
  serveApp(session.defaultSession);
  const { handlers, shutdown } = createAppHandlers({
    app: { name: app.getName(), version: app.getVersion(), platform: process.platform },
    deviceAccess:
      process.getuid?.() === 0
        ? { mode: 'privileged', detail: null }
        : {
            mode: 'unavailable',
            detail:
              'this build cannot ask for administrator rights; start it as root, or write the card with sudo apkovl build --device',
          },
    dialogs: electronDialogs(),
    recent: createRecentStore({ directory: app.getPath('userData') }),
    worker: workerCommand,
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
