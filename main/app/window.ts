import { BrowserWindow } from 'electron';
import { APP_INDEX_URL } from './app-protocol.js';
import { preloadScript } from './paths.js';
import { hardenContents } from './security.js';

/** The main window: isolated, sandboxed renderer without Node, served from app://studio/. */
export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 780,
    minWidth: 1024,
    minHeight: 700,
    title: 'Apkovl Studio',
    show: false,
    webPreferences: {
      preload: preloadScript,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  });
  hardenContents(window.webContents);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_INDEX_URL);
  return window;
}
