import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { AppError } from '../../../shared/errors.js';
import { encodeWire } from '../../../shared/ipc/wire-format.js';
import { formatBytes } from '../../../shared/model/size.js';
import { displayText } from '../../../shared/rules/display.js';
import { bindAddress, isWildcard, portNumber } from '../../services/serve/bind-address.js';
import { DEFAULT_PORT, type ServeEvent } from '../../services/serve/apkovl-server.js';
import type { CommandContext } from '../context.js';
import { flagValue } from '../flags.js';

interface ServeFlags {
  bind: string;
  port?: string;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
}

/** This machine's own IPv4 addresses, which netbooted machines use when the server listens on all. */
function ownAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal)
    .map((address) => address.address);
}

/** One event as the log lines a person reads. */
export function describeServeEvent(event: ServeEvent): string[] {
  switch (event.kind) {
    case 'listening': {
      const width = Math.max(...event.machines.map((machine) => machine.hostname.length), 8);
      const lines = [
        `Serving ${event.machines.length} machine${event.machines.length === 1 ? '' : 's'} on ${event.url} (Ctrl-C stops)`,
        ...event.machines.map((machine) => {
          const macs = machine.macs.length > 0 ? machine.macs.join(' ') : '(no MAC: by host name only)';
          const secrets = machine.secretsFile !== null ? ` + ${path.basename(machine.secretsFile)}` : '';
          return `  ${machine.hostname.padEnd(width)}  ${macs}  ${displayText(machine.file)}${displayText(secrets)}`;
        }),
        `Kernel parameter: apkovl=${event.apkovlUrl}`,
      ];
      const host = /^https?:\/\/\[?(.*?)\]?:\d+$/.exec(event.url)?.[1] ?? '';
      if (isWildcard(host)) {
        const own = ownAddresses();
        lines.push(
          `  (in place of ${host}, the address the machines reach this one at${own.length > 0 ? `: ${own.join(', ')}` : ''})`,
        );
      }
      return lines;
    }
    case 'request': {
      const line = `${event.time} ${event.client} ${event.method || '-'} ${event.path || '-'} ${event.status} ${event.bytes}`;
      const machine = event.machine !== null ? ` ${event.machine}` : '';
      return [`${line}${machine}${event.note !== null ? ` - ${event.note}` : ''}`];
    }
    case 'build':
      return [
        `${event.time} built ${event.hostname}.apkovl.tar.gz from ${displayText(event.file)} (${event.reason}, ${formatBytes(event.bytes)}, ${event.milliseconds} ms, sha256 ${event.sha256.slice(0, 16)}...)`,
      ];
    case 'warning':
      return [event.message];
    case 'stopped':
      return [`${event.time} stopped after ${event.requests} request${event.requests === 1 ? '' : 's'}`];
  }
}

export function serveCommand(context: CommandContext): Command {
  return new Command('serve')
    .summary('serve apkovls over HTTP(S) to netbooted machines, by MAC address or host name')
    .description(
      "Serve the apkovl of each machine definition over HTTP (or HTTPS) for netbooted machines: Alpine's initramfs, " +
        'booted with apkovl=http://HOST:PORT/{MAC}.apkovl.tar.gz, fetches /<its MAC>.apkovl.tar.gz; ' +
        '/<hostname>.apkovl.tar.gz works too. MACs come from network.interfaces[].mac. A folder stands for every ' +
        '*.yml in it; each definition is read with the secrets file beside it (kiosk.yml: kiosk.secrets.yml). ' +
        'Apkovls are built on their first request and rebuilt when a definition, its secrets or its files change. ' +
        'Every request is logged; nothing but these apkovls is served.',
    )
    .argument('<definitions...>', 'machine definitions (.yml) or folders of them')
    .option('--bind <address>', 'address to listen on (0.0.0.0: every IPv4 interface)', '127.0.0.1')
    .option('--port <number>', `port to listen on (0: any free port)`, String(DEFAULT_PORT))
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; needs --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM, unencrypted)')
    .option('--json', 'log as JSON lines: one event per request, build and warning, then one response')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  apkovl serve fleet/                          (http://127.0.0.1:8080, this machine only)',
        '  apkovl serve fleet/ --bind 0.0.0.0 --port 8080',
        '  apkovl serve kiosk.yml --bind 192.168.1.10 --tls-cert cert.pem --tls-key key.pem',
        '',
        'On any address but 127.0.0.1 (or ::1) it warns loudly when the apkovls carry secrets',
        '(password hashes, Wi-Fi PSKs, SSH host keys): anyone who can reach the port can fetch them.',
      ].join('\n'),
    )
    .action(async (paths: string[], flags: ServeFlags) => {
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        throw new AppError('usage', 'HTTPS needs both --tls-cert and --tls-key', {
          location: flags.tlsCert === undefined ? '--tls-cert' : '--tls-key',
          hint: 'give the certificate and its private key, or neither for HTTP',
        });
      }
      const bind = flagValue('--bind', () => bindAddress(flags.bind));
      const port = flagValue('--port', () => portNumber(flags.port ?? String(DEFAULT_PORT)));
      const json = flags.json === true;
      let requests = 0;
      const print = (event: ServeEvent) => {
        if (event.kind === 'request') requests += 1;
        if (json) context.stdout.write(encodeWire({ type: 'event', name: `serve.${event.kind}`, payload: event }));
        // A warning is loud: on stderr even with --json, where a person running it sees it.
        if (event.kind === 'warning') context.stderr.write(`\n${describeServeEvent(event).join('\n')}\n\n`);
        else if (!json) context.stdout.write(`${describeServeEvent(event).join('\n')}\n`);
      };
      if (context.signal.aborted) return;
      const server = await context.services.serve({
        paths,
        bind,
        port,
        ...(flags.tlsCert !== undefined && flags.tlsKey !== undefined
          ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey } }
          : {}),
        onEvent: print,
      });
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        else context.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
      context.respond('serve', {
        url: server.url,
        machines: server.machines.map(({ file, hostname, macs }) => ({ file, hostname, macs })),
        requests,
      });
    });
}
