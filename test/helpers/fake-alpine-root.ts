import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OverlayEntry } from '../../main/services/overlay/overlay-entry.js';

/**
 * A fake Alpine system for running the scripts an overlay ships: a folder standing for / (the
 * scripts read it through $APKOVL_ROOT), BusyBox applets as the only tools, and stub commands
 * (rc-status, ip, chronyc, mount, ...) that print what Alpine's print and log each call.
 */

/** The BusyBox applets the scripts may use; nothing else from the host is on PATH. */
const APPLETS = [
  'awk',
  'basename',
  'busybox',
  'cat',
  'cut',
  'grep',
  'head',
  'mkdir',
  'mktemp',
  'mv',
  'rm',
  'sed',
  'setsid',
  'sh',
  'sleep',
  'sync',
  'timeout',
  'tr',
];

export interface FakeRoot {
  /** The temporary folder holding it all. */
  dir: string;
  /** The folder standing for / of the machine. */
  root: string;
  /** Stub commands, first on PATH. */
  stubs: string;
  /** Every stub call, one line each. */
  callLog: string;
  env: Record<string, string>;
  /** A file of the machine, by its absolute path. */
  path(file: string): string;
  write(file: string, content: string | Buffer, mode?: number): void;
  /** Run a script of the machine with BusyBox sh. */
  run(script: string, args?: string[], extraEnv?: Record<string, string>): SpawnSyncReturns<string>;
  calls(): string[];
}

export function busyboxPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('busybox is missing: install the Debian package busybox (.ci/run does)');
  }
}

export function makeFakeRoot(dir: string): FakeRoot {
  const root = path.join(dir, 'root');
  const stubs = path.join(dir, 'stubs');
  const applets = path.join(dir, 'busybox');
  const callLog = path.join(dir, 'calls.log');
  for (const folder of [root, stubs, applets]) mkdirSync(folder, { recursive: true });
  const busybox = busyboxPath();
  for (const name of APPLETS) symlinkSync(busybox, path.join(applets, name));
  writeFileSync(callLog, '');
  const env = {
    PATH: `${stubs}:${applets}`,
    APKOVL_ROOT: root,
    TMPDIR: dir,
    STUB_LOG: callLog,
  };
  const fake: FakeRoot = {
    dir,
    root,
    stubs,
    callLog,
    env,
    path: (file) => path.join(root, file),
    write(file, content, mode = 0o644) {
      const target = path.join(root, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
      chmodSync(target, mode);
    },
    run(script, args = [], extraEnv = {}) {
      return spawnSync(busybox, ['sh', path.join(root, script), ...args], {
        env: { ...env, ...extraEnv },
        encoding: 'utf8',
        timeout: 60_000,
      });
    },
    calls: () =>
      readFileSync(callLog, 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
  };
  return fake;
}

/** Write an overlay's folders and files into the fake root, as the initramfs unpacks them. */
export function unpackEntries(fake: FakeRoot, entries: OverlayEntry[]): void {
  for (const entry of entries) {
    const target = fake.path(entry.path);
    if (entry.type === 'directory') mkdirSync(target, { recursive: true, mode: entry.mode });
    else if (entry.type === 'file') fake.write(entry.path, entry.content, entry.mode);
  }
}

/** A stub command: a BusyBox sh script that logs its arguments, then runs `body`. */
export function writeStub(fake: FakeRoot, name: string, body: string): void {
  const file = path.join(fake.stubs, name);
  writeFileSync(file, `#!${busyboxPath()} sh\necho "${name} $*" >>"$STUB_LOG"\n${body}\n`);
  chmodSync(file, 0o755);
}

/**
 * Call function `name` (depend, start) of OpenRC service `service` as openrc-run would: sourced
 * from inside /etc/init.d (where `after *` expands to every service), with OpenRC's helpers
 * (after, before, ebegin, eend, ...) as stubs that print their arguments.
 */
export function runServiceFunction(fake: FakeRoot, service: string, name: string): SpawnSyncReturns<string> {
  const harness = path.join(fake.dir, 'openrc-run.sh');
  writeFileSync(
    harness,
    [
      'for helper in after before need use want provide keyword ebegin; do',
      '\teval "$helper() { echo \\"$helper \\$*\\"; }"',
      'done',
      'eend() { echo "eend $*"; return "$1"; }',
      'cd "$APKOVL_ROOT/etc/init.d" || exit 1',
      '. "./$1"',
      '"$2"',
      '',
    ].join('\n'),
  );
  return spawnSync(busyboxPath(), ['sh', harness, service, name], {
    env: fake.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}
