import { ipcMain, type WebContents } from 'electron';
import { pathToFileURL } from 'node:url';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../../shared/ipc/channels.js';
import type { Router } from '../../shared/ipc/router.js';
import { rendererIndex } from './paths.js';

const trustedUrl = pathToFileURL(rendererIndex).href;

/**
 * Bind the router to the invoke channel. Requests from any frame other than our own page (a
 * navigated or injected frame) are ignored, as electron/fiddle does.
 */
export function setupIpc(router: Router): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event, command: unknown, input: unknown) => {
    const frameUrl = event.senderFrame?.url ?? '';
    if (frameUrl.split('#')[0] !== trustedUrl || typeof command !== 'string') return undefined;
    const sender: WebContents = event.sender;
    return router.handle(command, input, {
      emit: (name, payload) => {
        if (!sender.isDestroyed()) sender.send(EVENT_CHANNEL, { name, payload });
      },
    });
  });
}
