import { BrowserWindow, shell } from 'electron';
import { preloadScript, rendererIndex } from './paths.js';

/** The main window: isolated, sandboxed renderer without Node; no navigation, no pop-ups. */
export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1000,
    height: 780,
    minWidth: 720,
    minHeight: 560,
    title: 'Apkovl Studio',
    show: false,
    webPreferences: {
      preload: preloadScript,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.once('ready-to-show', () => window.show());
  void window.loadFile(rendererIndex);
  return window;
}
