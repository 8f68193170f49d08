import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback HTTP server playing an Alpine mirror, with faults a test can arm per path: error
 * statuses before success, a connection dropped or stalled after N bytes, Range ignored.
 */
export interface Fault {
  /** Statuses answered (one per request) before the file is served. */
  statuses?: number[];
  /** Close the connection after this many body bytes (once). */
  dropAfter?: number;
  /** Stop sending after this many body bytes, keeping the connection open (once). */
  stallAfter?: number;
  /** Answer 200 with the whole file even when a range is asked. */
  ignoreRange?: boolean;
}

export interface MirrorServer {
  url: string;
  files: Map<string, Buffer>;
  faults: Map<string, Fault>;
  /** Every request: path and Range header. */
  requests: { path: string; range: string | null }[];
  close(): Promise<void>;
}

export async function startMirror(files: Map<string, Buffer>): Promise<MirrorServer> {
  const faults = new Map<string, Fault>();
  const requests: MirrorServer['requests'] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const range = request.headers.range ?? null;
    requests.push({ path, range });
    const fault = faults.get(path);
    const status = fault?.statuses?.shift();
    if (status !== undefined) {
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`fault ${status}\n`);
      return;
    }
    const data = files.get(path);
    if (data === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const etag = `"${createHash('sha1').update(data).digest('hex')}"`;
    let start = 0;
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    const ifRange = request.headers['if-range'];
    if (match && !fault?.ignoreRange && (ifRange === undefined || ifRange === etag)) start = Number(match[1]);
    const body = data.subarray(start);
    const headers: http.OutgoingHttpHeaders = { 'content-length': body.length, etag, 'accept-ranges': 'bytes' };
    if (start > 0) {
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
      response.writeHead(206, headers);
    } else {
      response.writeHead(200, headers);
    }
    const cut = fault?.dropAfter ?? fault?.stallAfter;
    if (fault !== undefined && cut !== undefined && cut < body.length) {
      const drop = fault.dropAfter !== undefined;
      if (drop) delete fault.dropAfter;
      else delete fault.stallAfter;
      response.write(body.subarray(0, cut), () => {
        if (drop) request.socket.destroy();
        // a stall: keep the socket open and send nothing more
      });
      return;
    }
    response.end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    faults,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
