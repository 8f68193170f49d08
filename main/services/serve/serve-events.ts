/** What `apkovl serve` reports as it runs: the CLI prints these as log lines or JSON lines. */

/** A machine the server answers for. */
export interface ServedMachine {
  file: string;
  secretsFile: string | null;
  hostname: string;
  macs: string[];
  /** The secrets its apkovl carries (password hashes, Wi-Fi PSKs, host keys); empty when none. */
  secrets: string[];
}

export type ServeEvent =
  | {
      kind: 'listening';
      time: string;
      url: string;
      /** What Alpine's `apkovl=` takes; the initramfs puts the interface's MAC in place of {MAC}. */
      apkovlUrl: string;
      machines: ServedMachine[];
    }
  | {
      kind: 'request';
      time: string;
      client: string;
      method: string;
      path: string;
      status: number;
      /** Body bytes sent. */
      bytes: number;
      /** The host name of the machine served, when one was. */
      machine: string | null;
      /** Why it was refused or not found (unknown MAC: the known ones), or null. */
      note: string | null;
    }
  | {
      kind: 'build';
      time: string;
      file: string;
      hostname: string;
      reason: 'first request' | 'changed';
      bytes: number;
      sha256: string;
      milliseconds: number;
    }
  | { kind: 'warning'; time: string; message: string }
  | { kind: 'stopped'; time: string; requests: number };

export type ServeListener = (event: ServeEvent) => void;
