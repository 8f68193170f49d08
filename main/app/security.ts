import { shell, type Session, type WebContents } from 'electron';
import { isAllowedRendererRequest } from './app-protocol.js';
import { allowedExternalUrl } from './external-links.js';

/**
 * The session the window runs in: no permission is ever granted (camera, notifications, HID,
 * serial, USB...), and no request leaves app:// (the window needs no network: the worker
 * downloads).
 */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.on('select-hid-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  session.on('select-serial-port', (event, _ports, _contents, callback) => {
    event.preventDefault();
    callback('');
  });
  session.on('select-usb-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRendererRequest(details.url) });
  });
}

/** The window's page: it never navigates, opens no windows or webviews; documentation links go to the browser. */
export function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const external = allowedExternalUrl(url);
    if (external !== null) void shell.openExternal(external);
    return { action: 'deny' };
  });
}
