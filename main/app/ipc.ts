import { ipcMain, type WebContents } from 'electron';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../../shared/ipc/channels.js';
import type { Router } from '../../shared/ipc/router.js';
import { isAppUrl } from './app-protocol.js';

/**
 * Bind the router to the invoke channel. Requests from any frame that is not the app's own page
 * (app://studio/: a navigated or injected frame) are ignored, as electron/fiddle does.
 */
export function setupIpc(router: Router): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event, command: unknown, input: unknown) => {
    const frameUrl = event.senderFrame?.url ?? '';
    if (!isAppUrl(frameUrl) || typeof command !== 'string') return undefined;
    const sender: WebContents = event.sender;
    return router.handle(command, input, {
      emit: (name, payload) => {
        if (!sender.isDestroyed()) sender.send(EVENT_CHANNEL, { name, payload });
      },
    });
  });
}
