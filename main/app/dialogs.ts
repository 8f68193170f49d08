import { BrowserWindow, dialog } from 'electron';
import type { FileDialogs } from '../services/ipc-handlers.js';

export function electronDialogs(): FileDialogs {
  const parent = () => BrowserWindow.getFocusedWindow() ?? undefined;
  return {
    async openFile({ title, filters }) {
      const window = parent();
      const options = { title, filters, properties: ['openFile' as const] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async saveFile({ title, defaultName }) {
      const window = parent();
      const options = { title, defaultPath: defaultName };
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      return result.canceled ? null : (result.filePath ?? null);
    },
  };
}
