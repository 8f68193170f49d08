#!/usr/bin/env node
import { constants } from 'node:os';
import { EXIT_CANCELLED, runCli } from './program.js';

/**
 * Stopping: Ctrl-C (SIGINT), SIGTERM (kill, systemd, docker stop), SIGHUP (the terminal closed)
 * and an output nobody reads any more (EPIPE, as with `apkovl build --json | head -1`) all stop
 * the command the same way: it is cancelled, cleans up (a half-written image is deleted) and the
 * process exits with 128 + the signal's number, as a shell reports a process the signal killed:
 * 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 141 for a closed output (SIGPIPE). A command
 * that finished before it could be stopped keeps its own exit status. A second signal quits at
 * once.
 */
const controller = new AbortController();
let stoppedBy: NodeJS.Signals | null = null;

function stop(signal: NodeJS.Signals, message: string): void {
  if (stoppedBy !== null) process.exit(128 + constants.signals[signal]);
  stoppedBy = signal;
  process.stderr.write(message);
  controller.abort();
}

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // The reader went away (a closed pipe, a hung-up terminal): stop, but clean up first. Silent,
    // as there is no one to tell; when the command had finished (apkovl --help | head) this
    // changes nothing.
    if (error.code === 'EPIPE' || error.code === 'EIO') {
      if (stoppedBy === null) {
        stoppedBy = 'SIGPIPE';
        controller.abort();
      }
      return;
    }
    throw error;
  });
}

process.on('SIGINT', () => stop('SIGINT', '\nStopping: cleaning up (press Ctrl-C again to quit at once)\n'));
process.on('SIGTERM', () => stop('SIGTERM', 'Stopping (SIGTERM): cleaning up\n'));
process.on('SIGHUP', () => stop('SIGHUP', 'Stopping (SIGHUP): cleaning up\n'));

// No top-level await: the packaged worker bundles this file as CommonJS (scripts/build-worker.mjs).
void runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then((status) => {
  process.exitCode = exitStatus(status);
});

function exitStatus(commandStatus: number): number {
  return commandStatus === EXIT_CANCELLED && stoppedBy !== null ? 128 + constants.signals[stoppedBy] : commandStatus;
}
