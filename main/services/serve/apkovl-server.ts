import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { generateOverlay } from '../overlay/generate.js';
import { overlayFromDefinition } from '../overlay/overlay-service.js';
import { toolVersion } from '../tool-version.js';
import { bindAddress, isLoopback, isWildcard, urlHost } from './bind-address.js';
import { brokenReason, describeConflict, Fleet, type FleetEntry, type FleetIndex } from './fleet.js';
import { overlaySecrets } from './overlay-secrets.js';
import { APKOVL_SUFFIX, parseRequestTarget, type RequestTarget } from './request-target.js';
import type { ServedMachine, ServeEvent, ServeListener } from './serve-events.js';
import { loadTls, type TlsFiles } from './tls-files.js';

export type { ServedMachine, ServeEvent, ServeListener } from './serve-events.js';

export const DEFAULT_PORT = 8080;

export interface ServeOptions {
  /** Definition files and folders (every *.yml in them but *.secrets.yml). */
  paths: string[];
  /** Address to listen on; default 127.0.0.1 (this machine only). */
  bind?: string;
  /** Port; default 8080, 0 for any free port (the server's `port` says which). */
  port?: number;
  /** HTTPS with this certificate and key. */
  tls?: TlsFiles;
  /** Unix seconds for every member of the apkovls (SOURCE_DATE_EPOCH); default 0. */
  mtime?: number;
  /** Every request, build, warning, the start and the stop. */
  onEvent?: ServeListener;
  /** The clock of the log; default the real one. */
  now?: () => Date;
  /**
   * For `apkovl try`: more files served at the top level, by exact name (`modloop-virt` -> the
   * local file), and MAC addresses answered with a machine (a MAC -> its host name).
   */
  extra?: { files?: Record<string, string>; macs?: Record<string, string> };
}

export interface ApkovlServer {
  /** `http://127.0.0.1:8080` (https with TLS): the server as this machine reaches it. */
  url: string;
  address: string;
  port: number;
  tls: boolean;
  /** `<url>/{MAC}.apkovl.tar.gz`, for Alpine's `apkovl=` kernel parameter. */
  apkovlUrl: string;
  /** The machines served, as read at the start. */
  machines: ServedMachine[];
  /** The loud warnings given at the start (secrets served beyond this machine). */
  warnings: string[];
  /** Stop listening, let requests in flight finish (at most 2 s), then close every connection. */
  close(): Promise<void>;
}

interface Built {
  fingerprint: string;
  data: Buffer;
  secrets: string[];
}

interface Answer {
  status: number;
  data: Buffer | null;
  machine: string | null;
  note: string | null;
}

const notFound = (note: string): Answer => ({ status: 404, data: null, machine: null, note });
const failed = (note: string): Answer => ({ status: 500, data: null, machine: null, note });

function knownMacs(index: FleetIndex): string {
  const known = index.entries.flatMap((entry) => {
    const machine = entry.kind === 'ok' ? entry.machine : entry.last;
    return machine === null ? [] : machine.macs.map((mac) => `${mac} (${machine.hostname})`);
  });
  return known.length > 0
    ? `known MACs: ${known.join(', ')}`
    : 'no definition names a MAC address (add network.interfaces[].mac)';
}

function knownHosts(index: FleetIndex): string {
  const hosts = index.entries.flatMap((entry) => {
    const machine = entry.kind === 'ok' ? entry.machine : entry.last;
    return machine === null ? [] : [machine.hostname];
  });
  return `known host names: ${hosts.join(', ') || 'none'}`;
}

function secretsWarning(address: string, port: number, machines: ServedMachine[]): string {
  const where = isWildcard(address) ? `${address} (every interface of this machine)` : address;
  return [
    `WARNING: serving on ${where}, beyond this machine, apkovls that carry secrets:`,
    ...machines.map((machine) => `  ${machine.hostname} (${displayText(machine.file)}): ${machine.secrets.join('; ')}`),
    `Anyone who can reach port ${port} can fetch them: serve them on a network you trust only, or bind 127.0.0.1.`,
    'HTTPS (--tls-cert/--tls-key) keeps them from eavesdroppers, not from anyone who asks.',
  ].join('\n');
}

/** The listen error as a person can act on it. */
function listenError(error: NodeJS.ErrnoException, address: string, port: number): AppError {
  const where = `${urlHost(address)}:${port}`;
  const known: Record<string, [string, string, string]> = {
    EADDRINUSE: [`${where} is in use by another program`, '--port', 'choose another --port, or stop the other server'],
    EACCES: [`listening on ${where} is not allowed`, '--port', 'ports below 1024 need root: choose --port 8080'],
    EADDRNOTAVAIL: [
      `${address} is not an address of this machine`,
      '--bind',
      'give one of its addresses (ip addr), or 0.0.0.0 for all',
    ],
  };
  const [message, location, hint] = known[error.code ?? ''] ?? [
    `cannot listen on ${where}: ${error.message}`,
    '--bind',
    'check --bind and --port',
  ];
  return new AppError('io', message, { location, hint, cause: error });
}

/** One of the extra files, streamed; logged when it ends. */
function serveFile(
  file: string,
  method: string,
  response: http.ServerResponse,
  log: (status: number, bytes: number, note: string | null) => void,
): void {
  void stat(file).then(
    (info) => {
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-store',
      });
      if (method === 'HEAD') {
        response.end();
        log(200, 0, null);
        return;
      }
      const stream = createReadStream(file);
      stream.pipe(response);
      stream.on('error', () => response.destroy());
      response.on('close', () => log(200, stream.bytesRead, null));
    },
    (error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('500 Internal Server Error\n');
      log(500, 0, `cannot read the file served: ${(error as Error).message}`);
    },
  );
}

/**
 * `apkovl serve`: an HTTP(S) server for netbooted machines. Alpine's initramfs, given
 * `apkovl=http://host:port/{MAC}.apkovl.tar.gz`, fetches `/<its MAC>.apkovl.tar.gz`; a machine
 * can also be fetched by host name. Each apkovl is built on its first request and kept; every
 * request reads the definitions again and rebuilds an apkovl whose definition, secrets or copied
 * files changed, so nothing stale is served. Only those apkovls are served.
 */
export async function startServer(options: ServeOptions): Promise<ApkovlServer> {
  const now = options.now ?? (() => new Date());
  const emit = (event: ServeEvent) => options.onEvent?.(event);
  const time = () => now().toISOString();
  const address = bindAddress(options.bind ?? '127.0.0.1');
  const requestedPort = options.port ?? DEFAULT_PORT;
  const tls = options.tls !== undefined ? await loadTls(options.tls) : null;

  const fleet = new Fleet(options.paths);
  const first = await fleet.refresh({ strict: true });
  const machines: ServedMachine[] = first.entries.flatMap((entry) => {
    if (entry.kind !== 'ok') return [];
    const { machine: definition, sources, hostKeySeed } = entry.loaded;
    const generated = generateOverlay(definition, { sources, hostKeySeed, toolVersion: toolVersion() });
    return [{ ...entry.machine, secrets: overlaySecrets(generated.entries) }];
  });
  const loopback = isLoopback(address);
  const warnings: string[] = [];
  const withSecrets = machines.filter((machine) => machine.secrets.length > 0);
  if (!loopback && withSecrets.length > 0) warnings.push(secretsWarning(address, requestedPort, withSecrets));

  const builds = new Map<string, Built>();
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };

  async function build(entry: Extract<FleetEntry, { kind: 'ok' }>): Promise<Answer> {
    const { file, hostname } = entry.machine;
    const cached = builds.get(file);
    if (cached?.fingerprint === entry.fingerprint)
      return { status: 200, data: cached.data, machine: hostname, note: null };
    const started = performance.now();
    try {
      const result = await overlayFromDefinition(
        entry.loaded,
        options.mtime !== undefined ? { mtime: options.mtime } : {},
      );
      const secrets = overlaySecrets(result.generated.entries);
      emit({
        kind: 'build',
        time: time(),
        file,
        hostname,
        reason: cached === undefined ? 'first request' : 'changed',
        bytes: result.data.length,
        sha256: result.sha256,
        milliseconds: Math.round(performance.now() - started),
      });
      const announced = machines.find((machine) => machine.file === file)?.secrets ?? [];
      const fresh = secrets.filter(
        (secret) => !announced.includes(secret) && !(cached?.secrets ?? []).includes(secret),
      );
      if (!loopback && fresh.length > 0)
        emit({
          kind: 'warning',
          time: time(),
          message: secretsWarning(address, requestedPort, [{ ...entry.machine, secrets: fresh }]),
        });
      builds.set(file, { fingerprint: entry.fingerprint, data: result.data, secrets });
      return { status: 200, data: result.data, machine: hostname, note: null };
    } catch (error) {
      builds.delete(file);
      const reason = error instanceof AppError ? error.message.replace(/\n\s*/g, ' ') : String(error);
      return failed(`${displayText(file)} does not build now: ${reason}`);
    }
  }

  async function answer(target: Extract<RequestTarget, { kind: 'apkovl' }>): Promise<Answer> {
    const index = await fleet.refresh({ strict: false });
    const alias = target.mac !== null ? options.extra?.macs?.[target.mac]?.toLowerCase() : undefined;
    const keys = [target.mac, alias ?? null, target.name.toLowerCase()].filter((key): key is string => key !== null);
    for (const key of keys) {
      const conflict = index.conflicts.find((candidate) => candidate.key === key);
      if (conflict !== undefined)
        return failed(`${describeConflict(conflict)}: nothing served for it until one is fixed`);
      const entry = index.byName.get(key);
      if (entry === undefined) continue;
      if (entry.kind === 'broken')
        return failed(
          `${displayText(entry.file)} cannot be read now (${brokenReason(entry)}): nothing served for it until it is fixed`,
        );
      return build(entry);
    }
    return target.mac !== null
      ? notFound(`unknown MAC ${target.mac}; ${knownMacs(index)}`)
      : notFound(`unknown host name ${displayText(target.name)}; ${knownHosts(index)}`);
  }

  const extraFiles = new Map(Object.entries(options.extra?.files ?? {}));
  let requests = 0;
  const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    requests += 1;
    const method = request.method ?? '';
    const path = request.url ?? '';
    const client = (request.socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const extraFile =
      (method === 'GET' || method === 'HEAD') && path.startsWith('/') ? extraFiles.get(path.slice(1)) : undefined;
    if (extraFile !== undefined) {
      serveFile(extraFile, method, response, (status, bytes, note) =>
        emit({ kind: 'request', time: time(), client, method, path, status, bytes, machine: null, note }),
      );
      return;
    }
    const target = parseRequestTarget(method, path);
    const answered: Promise<Answer> =
      target.kind === 'refused'
        ? Promise.resolve({ status: target.status, data: null, machine: null, note: `refused: ${target.reason}` })
        : serial(() => answer(target));
    void answered
      .catch((error: unknown): Answer => failed(`internal error: ${(error as Error).message}`))
      .then((result) => {
        const body = result.data ?? Buffer.from(`${result.status} ${http.STATUS_CODES[result.status] ?? ''}\n`, 'utf8');
        const headers: http.OutgoingHttpHeaders = {
          'content-type': result.data !== null ? 'application/gzip' : 'text/plain; charset=utf-8',
          'content-length': body.length,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        };
        if (result.status === 405) headers.allow = 'GET, HEAD';
        response.writeHead(result.status, headers);
        const sent = method === 'HEAD' ? 0 : body.length;
        response.end(method === 'HEAD' ? undefined : body);
        emit({
          kind: 'request',
          time: time(),
          client,
          method: displayText(method),
          path: displayText(path),
          status: result.status,
          bytes: sent,
          machine: result.machine,
          note: result.note,
        });
      });
  };

  const server =
    tls !== null ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
    if (error.code === 'ECONNRESET') return;
    emit({
      kind: 'request',
      time: time(),
      client: ((socket as Socket).remoteAddress ?? '?').replace(/^::ffff:/, ''),
      method: '',
      path: '',
      status: 400,
      bytes: 0,
      machine: null,
      note: `refused: not a request this server reads (${error.code ?? error.message})`,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, address, requestedPort)));
    server.listen({ host: address, port: requestedPort }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls !== null ? 'https' : 'http'}://${urlHost(address)}:${port}`;
  const apkovlUrl = `${url}/{MAC}${APKOVL_SUFFIX}`;
  if (!loopback && withSecrets.length > 0)
    warnings.splice(0, warnings.length, secretsWarning(address, port, withSecrets));
  emit({ kind: 'listening', time: time(), url, apkovlUrl, machines });
  for (const message of warnings) emit({ kind: 'warning', time: time(), message });

  let closing: Promise<void> | null = null;
  return {
    url,
    address,
    port,
    tls: tls !== null,
    apkovlUrl,
    machines,
    warnings,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          emit({ kind: 'stopped', time: time(), requests });
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
