#!/usr/bin/env node
import { runCli } from './program.js';

const controller = new AbortController();

// A reader that stops early (apkovl --help | head) is not an error. A job under way is stopped
// the clean way, as with Ctrl-C, so that it leaves nothing behind (a worker whose app died).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    controller.abort();
  });
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\nStopping: cleaning up (press Ctrl-C again to quit at once)\n');
  controller.abort();
});
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
