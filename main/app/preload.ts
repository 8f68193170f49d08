import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from '../../shared/ipc/channels.js';
import type { Transport } from '../../shared/ipc/contract.js';

/**
 * The generic preload: exposes one Transport (invoke + subscribe) over two fixed channels and
 * nothing else. Bundled to CommonJS (sandboxed preloads cannot be modules).
 */
const transport: Transport = {
  invoke: (command, input) => ipcRenderer.invoke(INVOKE_CHANNEL, command, input),
  subscribe(listener) {
    const handler = (_event: IpcRendererEvent, message: { name: string; payload: unknown }) => listener(message);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
};
contextBridge.exposeInMainWorld('apkovl', transport);
