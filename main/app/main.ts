import { app } from 'electron';
import { createRouter } from '../../shared/ipc/router.js';
import { createServices } from '../services/index.js';
import { createHandlers } from '../services/ipc-handlers.js';
import { electronDialogs } from './dialogs.js';
import { setupIpc } from './ipc.js';
import { createMainWindow } from './window.js';

/** Electron main process: wires the services to the window through the IPC router. */
async function start(): Promise<void> {
  await app.whenReady();
  const services = createServices({ now: () => performance.now(), env: process.env });
  const handlers = createHandlers(services, {
    dialogs: electronDialogs(),
    app: {
      name: app.getName(),
      version: app.getVersion(),
      platform: process.platform,
      deviceAccess: { mode: 'unavailable', detail: 'the app does not write drives yet' },
    },
  });
  setupIpc(createRouter(handlers, { onBug: (error, command) => console.error(`[${command}]`, error) }));
  createMainWindow();
}

app.on('window-all-closed', () => app.quit());
start().catch((error: unknown) => {
  console.error(error);
  app.exit(1);
});
