import { Command } from 'commander';
import { toolVersion } from '../../services/tool-version.js';
import type { CommandContext } from '../context.js';

export function workerCommand(context: CommandContext): Command {
  return new Command('worker')
    .summary("serve the app's requests as JSON lines on stdin/stdout (started by the desktop app)")
    .description(
      'Serve the IPC contract as JSON lines: one request per line on stdin ' +
        '({"type":"request","id":1,"command":"app.info","input":{}}), events and one response per request on stdout. ' +
        'No socket and no port: only the process that started it can talk to it. It ends when stdin ends or its ' +
        'parent goes away, cancelling running jobs. The desktop app starts it elevated for device reads and writes.',
    )
    .option(
      '--trusted-key <file>',
      "also trust this OpenPGP key for release signatures (a private mirror's), as build --trusted-key does",
    )
    .option(
      '--apk-key <file>',
      'also trust this apk signing key (a private package repository) for offline builds and checks; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addHelpText(
      'after',
      '\nExample:\n  echo \'{"type":"request","id":1,"command":"app.info","input":{}}\' | apkovl worker',
    )
    .action(async (flags: { trustedKey?: string; apkKey: string[] }) => {
      const { runWorker } = await import('../worker.js');
      const { withApkKeys, withTrustedKey } = await import('../../services/trusted-key.js');
      let services = context.services;
      if (flags.trustedKey !== undefined) services = withTrustedKey(services, flags.trustedKey);
      if (flags.apkKey.length > 0) services = withApkKeys(services, flags.apkKey);
      await runWorker({
        services,
        input: context.stdin,
        output: context.stdout,
        log: (text) => context.stderr.write(`${text}\n`),
        version: toolVersion(),
        parentPid: () => process.ppid,
        signal: context.signal,
      });
    });
}
