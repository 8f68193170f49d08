/** The two fixed Electron IPC channels the generic preload uses. */
export const INVOKE_CHANNEL = 'apkovl:invoke';
export const EVENT_CHANNEL = 'apkovl:event';
