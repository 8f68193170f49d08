import { createClient, type Client } from '../shared/ipc/client.js';
import type { Transport } from '../shared/ipc/contract.js';

declare global {
  interface Window {
    /** Installed by the preload (Electron) or by the test harness (Chromium). */
    apkovl?: Transport;
  }
}

export function connect(): Client {
  const transport = window.apkovl;
  if (transport === undefined) throw new Error('The app bridge is missing: this page must run inside Apkovl Studio.');
  return createClient(transport);
}
