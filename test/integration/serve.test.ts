import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ApkovlServer, type ServeEvent } from '../../main/services/serve/apkovl-server.js';
import { runCli, startCli, wireLines } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * `apkovl serve` over real HTTP(S) on 127.0.0.1: the {MAC} Alpine's initramfs substitutes, host
 * names, unknown MACs, rebuilds, traversal attempts, HTTPS and the secrets warning.
 */
let temp: ReturnType<typeof makeTempDir>;
let fleet: string;
const servers: ApkovlServer[] = [];

const ALPHA_MAC = '52:54:00:00:00:0a';
const BETA_MAC = '52:54:00:00:00:0b';

const alpha = `version: 1
hostname: alpha
target: { board: rpi, arch: aarch64 }
alpine: { version: 3.22.2 }
network:
  interfaces:
    - { name: eth0, ipv4: dhcp, mac: "52-54-00-00-00-0A" }
    - name: wlan0
      wifi: { country: DE, networks: [{ ssid: Hall, psk: "\${secret:wifi}" }] }
root:
  password: "\${secret:root}"
`;
const alphaSecrets = `wifi: "correct horse battery"\nroot: "first password"\n`;
const beta = `version: 1
hostname: beta
target: { board: x86_64-uefi, arch: x86_64 }
alpine: { version: 3.22.2 }
network:
  interfaces:
    - { name: eth0, mac: 52540000000B }
`;

function writeFleet(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'alpha.yml'), alpha);
  writeFileSync(path.join(dir, 'alpha.secrets.yml'), alphaSecrets, { mode: 0o600 });
  writeFileSync(path.join(dir, 'beta.yml'), beta);
}

beforeAll(() => {
  temp = makeTempDir('apkovl-serve-');
  fleet = path.join(temp.dir, 'fleet');
  writeFleet(fleet);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(() => temp.cleanup());

async function serve(options: Partial<Parameters<typeof startServer>[0]> = {}) {
  const events: ServeEvent[] = [];
  const server = await startServer({ paths: [fleet], port: 0, onEvent: (event) => events.push(event), ...options });
  servers.push(server);
  const requests = () => events.filter((event) => event.kind === 'request');
  const builds = () => events.filter((event) => event.kind === 'build');
  return { server, events, requests, builds };
}

async function get(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

/** A request written as bytes, so that nothing normalises its target first. */
function rawRequest(port: number, requestLine: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

/** Unpack an apkovl with busybox tar, as the initramfs does, and read a file from it. */
function unpackWithBusybox(data: Buffer, name: string): string {
  const dir = path.join(temp.dir, `unpacked-${name}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  const archive = `${dir}.apkovl.tar.gz`;
  writeFileSync(archive, data);
  const result = spawnSync('busybox', ['tar', '-xzf', archive, '-C', dir], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return dir;
}

describe('apkovl serve', () => {
  it('answers {MAC} as Alpine substitutes it (and other spellings) and host names, logging every request', async () => {
    const { server, requests, builds } = await serve();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.apkovlUrl).toBe(`${server.url}/{MAC}.apkovl.tar.gz`);
    expect(server.machines.map((machine) => [machine.hostname, machine.macs])).toEqual([
      ['alpha', [ALPHA_MAC]],
      ['beta', [BETA_MAC]],
    ]);

    const byMac = await get(server.apkovlUrl.replace('{MAC}', ALPHA_MAC));
    expect(byMac.status).toBe(200);
    const dir = unpackWithBusybox(byMac.body, 'alpha');
    expect(readFileSync(path.join(dir, 'etc/hostname'), 'utf8')).toBe('alpha\n');
    for (const spelling of ['52-54-00-00-00-0A', '52540000000a', 'alpha', 'ALPHA'])
      expect((await get(`${server.url}/${spelling}.apkovl.tar.gz`)).body.equals(byMac.body)).toBe(true);

    const betaResponse = await get(`${server.url}/${BETA_MAC}.apkovl.tar.gz`);
    expect(betaResponse.status).toBe(200);
    expect(readFileSync(path.join(unpackWithBusybox(betaResponse.body, 'beta'), 'etc/hostname'), 'utf8')).toBe(
      'beta\n',
    );

    // Built once each, on the first request; then served from the cache.
    expect(builds().map((event) => event.kind === 'build' && [event.hostname, event.reason])).toEqual([
      ['alpha', 'first request'],
      ['beta', 'first request'],
    ]);
    expect(requests()).toHaveLength(6);
    expect(requests()[0]).toMatchObject({
      kind: 'request',
      client: '127.0.0.1',
      method: 'GET',
      path: `/${ALPHA_MAC}.apkovl.tar.gz`,
      status: 200,
      bytes: byMac.body.length,
      machine: 'alpha',
      note: null,
    });
    expect(Date.parse((requests()[0] as { time: string }).time)).not.toBeNaN();
  });

  it('answers an unknown MAC with 404 and logs the MACs it knows', async () => {
    const { server, requests } = await serve();
    const response = await get(`${server.url}/02:00:00:00:00:99.apkovl.tar.gz`);
    expect(response.status).toBe(404);
    // The client learns nothing about the fleet; the log says what is known.
    expect(response.body.toString()).toBe('404 Not Found\n');
    expect(requests().at(-1)).toMatchObject({
      status: 404,
      note: `unknown MAC 02:00:00:00:00:99; known MACs: ${ALPHA_MAC} (alpha), ${BETA_MAC} (beta)`,
    });
    expect((await get(`${server.url}/gamma.apkovl.tar.gz`)).status).toBe(404);
    expect(requests().at(-1)?.kind === 'request' && requests().at(-1)).toMatchObject({
      note: 'unknown host name gamma; known host names: alpha, beta',
    });
  });

  it('rebuilds when a definition or its secrets change, and serves nothing stale', async () => {
    const dir = path.join(temp.dir, 'changing');
    writeFleet(dir);
    const { server, builds, requests } = await serve({ paths: [dir] });
    const url = `${server.url}/${BETA_MAC}.apkovl.tar.gz`;
    const first = await get(url);
    expect((await get(url)).body.equals(first.body)).toBe(true);
    expect(builds()).toHaveLength(1);

    writeFileSync(path.join(dir, 'beta.yml'), `${beta}timezone: Europe/Berlin\n`);
    const second = await get(url);
    expect(second.body.equals(first.body)).toBe(false);
    expect(readlinkSync(path.join(unpackWithBusybox(second.body, 'beta2'), 'etc/localtime'))).toBe(
      '/usr/share/zoneinfo/Europe/Berlin',
    );
    expect(builds().at(-1)).toMatchObject({ hostname: 'beta', reason: 'changed' });

    const alphaUrl = `${server.url}/${ALPHA_MAC}.apkovl.tar.gz`;
    const before = await get(alphaUrl);
    writeFileSync(path.join(dir, 'alpha.secrets.yml'), alphaSecrets.replace('first password', 'second password'));
    const after = await get(alphaUrl);
    expect(after.body.equals(before.body)).toBe(false);
    const shadow = (body: Buffer) =>
      readFileSync(path.join(unpackWithBusybox(body, 'shadow'), 'etc/shadow'), 'utf8').split('\n')[0];
    expect(shadow(after.body)).not.toBe(shadow(before.body));
    expect(builds()).toHaveLength(4);

    // A definition broken while serving: 500 until it is fixed, never the old apkovl.
    writeFileSync(path.join(dir, 'beta.yml'), `${beta}timezone: Mars/Olympus\n`);
    const broken = await get(url);
    expect(broken.status).toBe(500);
    expect(requests().at(-1)).toMatchObject({
      status: 500,
      note: expect.stringMatching(/beta\.yml cannot be read now .*timezone.*nothing served for it until it is fixed/),
    });
    writeFileSync(path.join(dir, 'beta.yml'), beta);
    const fixed = await get(url);
    expect(fixed.status).toBe(200);
    expect(fixed.body.equals(first.body)).toBe(true);

    // A definition added to the folder is served without a restart.
    writeFileSync(
      path.join(dir, 'gamma.yml'),
      beta.replace('beta', 'gamma').replace('52540000000B', '"52:54:00:00:00:10"'),
    );
    expect((await get(`${server.url}/52:54:00:00:00:10.apkovl.tar.gz`)).status).toBe(200);
  });

  it('refuses path traversal, encoded slashes, absolute URLs and other methods, and logs each', async () => {
    const { server, requests } = await serve();
    const attempts = [
      'GET /../alpha.secrets.yml HTTP/1.1',
      'GET /../../../../etc/passwd HTTP/1.1',
      'GET /%2e%2e/alpha.secrets.yml HTTP/1.1',
      'GET /..%2falpha.secrets.yml HTTP/1.1',
      'GET /..%5calpha.secrets.yml HTTP/1.1',
      'GET /./alpha.apkovl.tar.gz HTTP/1.1',
      'GET //etc/passwd HTTP/1.1',
      'GET /fleet/alpha.apkovl.tar.gz HTTP/1.1',
      'GET /alpha.yml HTTP/1.1',
      'GET /alpha.secrets.yml HTTP/1.1',
      `GET ${server.url}/alpha.apkovl.tar.gz HTTP/1.1`,
      'GET /alpha%00.apkovl.tar.gz HTTP/1.1',
      'GET / HTTP/1.1',
      'POST /alpha.apkovl.tar.gz HTTP/1.1',
      'PUT /alpha.apkovl.tar.gz HTTP/1.1',
      'DELETE /alpha.apkovl.tar.gz HTTP/1.1',
    ];
    for (const attempt of attempts) {
      const response = await rawRequest(server.port, attempt);
      expect([400, 404, 405], attempt).toContain(response.status);
      expect(response.text, attempt).not.toMatch(/correct horse|first password|root:|hostname/);
    }
    const logged = requests();
    expect(logged).toHaveLength(attempts.length);
    for (const event of logged) {
      expect(event).toMatchObject({ machine: null, note: expect.stringMatching(/^(refused: |unknown host name)/) });
    }
    expect(logged.map((event) => event.kind === 'request' && event.status)).toEqual([
      400, 400, 400, 400, 400, 400, 400, 404, 404, 404, 400, 400, 404, 405, 405, 405,
    ]);
    // A request that is not HTTP at all is refused and logged too.
    await rawRequest(server.port, 'NONSENSE');
    expect(requests().at(-1)).toMatchObject({ status: 400, note: expect.stringMatching(/^refused: /) });
  });

  it('serves HTTPS with a certificate and key, and says which file is wrong', async () => {
    const certFile = path.join(temp.dir, 'cert.pem');
    const keyFile = path.join(temp.dir, 'key.pem');
    const otherKey = path.join(temp.dir, 'other-key.pem');
    const openssl = (args: string[]) => {
      const result = spawnSync('openssl', args, { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
    };
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
    ]); // prettier-ignore
    openssl(['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);

    const { server } = await serve({ tls: { certFile, keyFile } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<Buffer>((resolve, reject) => {
      https
        .get(`${server.url}/${ALPHA_MAC}.apkovl.tar.gz`, { ca: readFileSync(certFile) }, (response) => {
          const chunks: Buffer[] = [];
          expect(response.statusCode).toBe(200);
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve(Buffer.concat(chunks)));
        })
        .on('error', reject);
    });
    expect(readFileSync(path.join(unpackWithBusybox(body, 'https'), 'etc/hostname'), 'utf8')).toBe('alpha\n');
    // Plain HTTP to the HTTPS port gets nothing.
    expect((await rawRequest(server.port, `GET /${ALPHA_MAC}.apkovl.tar.gz HTTP/1.1`)).status).not.toBe(200);

    await expect(serve({ tls: { certFile, keyFile: otherKey } })).rejects.toThrow(
      /the key .*other-key\.pem does not belong to the certificate .*cert\.pem/,
    );
    await expect(serve({ tls: { certFile, keyFile: path.join(temp.dir, 'missing.pem') } })).rejects.toMatchObject({
      location: '--tls-key',
      message: expect.stringMatching(/cannot read the TLS key .*missing\.pem/),
    });
    await expect(serve({ tls: { certFile: keyFile, keyFile } })).rejects.toMatchObject({
      location: '--tls-cert',
      message: expect.stringMatching(/key\.pem is not a PEM certificate/),
    });
  });

  it('warns loudly on a non-loopback address when the apkovls carry secrets, and only then', async () => {
    const wide = await serve({ bind: '0.0.0.0' });
    expect(wide.server.warnings).toHaveLength(1);
    const warning = wide.server.warnings[0] ?? '';
    expect(warning).toMatch(/^WARNING: serving on 0\.0\.0\.0 \(every interface of this machine\)/);
    expect(warning).toContain('alpha');
    expect(warning).toContain('password hashes of root (/etc/shadow)');
    expect(warning).toContain('a Wi-Fi PSK (/etc/wpa_supplicant/wpa_supplicant.conf)');
    expect(warning).toContain(`Anyone who can reach port ${wide.server.port} can fetch them`);
    expect(warning).not.toMatch(/\bbeta\b/);
    expect(wide.events).toContainEqual(expect.objectContaining({ kind: 'warning', message: warning }));
    expect((await get(`http://127.0.0.1:${wide.server.port}/${ALPHA_MAC}.apkovl.tar.gz`)).status).toBe(200);

    // 127.0.0.2 is loopback too: only this machine reaches it.
    expect((await serve({ bind: '127.0.0.2' })).server.warnings).toEqual([]);
    expect((await serve()).server.warnings).toEqual([]);
    // A fleet without secrets is no cause for a warning anywhere.
    const plain = path.join(temp.dir, 'plain');
    mkdirSync(plain);
    copyFileSync(path.join(fleet, 'beta.yml'), path.join(plain, 'beta.yml'));
    expect((await serve({ paths: [plain], bind: '0.0.0.0' })).server.warnings).toEqual([]);
  });

  it('refuses two definitions with the same MAC or host name, naming both files', async () => {
    const dir = path.join(temp.dir, 'twins');
    writeFleet(dir);
    writeFileSync(path.join(dir, 'delta.yml'), beta.replace('hostname: beta', 'hostname: delta'));
    await expect(serve({ paths: [dir] })).rejects.toThrow(
      new RegExp(`the MAC address ${BETA_MAC} is in both .*beta\\.yml and .*delta\\.yml`),
    );
    const other = path.join(temp.dir, 'same-name.yml');
    writeFileSync(other, beta.replace('52540000000B', '52:54:00:00:00:20'));
    await expect(serve({ paths: [fleet, other] })).rejects.toThrow(
      /the host name beta is in both .*fleet\/beta\.yml and .*same-name\.yml/,
    );
  });
});

describe('apkovl serve (the command)', () => {
  it('logs JSON lines, warns on stderr, and stops cleanly on SIGTERM', async () => {
    const child = startCli(['serve', fleet, '--bind', '0.0.0.0', '--port', '0', '--json']);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const listening = await new Promise<{ url: string }>((resolve, reject) => {
      child.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = wireLines(stdout).find((message) => message.name === 'serve.listening');
        if (line !== undefined) resolve(line.payload as { url: string });
      });
    });
    const port = Number(/:(\d+)$/.exec(listening.url)?.[1]);
    const response = await get(`http://127.0.0.1:${port}/${ALPHA_MAC}.apkovl.tar.gz`);
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    // Stopping is how a server ends: exit 0, after a last response.
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/WARNING: serving on 0\.0\.0\.0/);
    const lines = wireLines(stdout);
    expect(lines.map((line) => line.name ?? line.type)).toEqual([
      'serve.listening',
      'serve.warning',
      'serve.build',
      'serve.request',
      'serve.stopped',
      'response',
    ]);
    expect(lines[3]).toMatchObject({ payload: { status: 200, machine: 'alpha', client: '127.0.0.1' } });
    expect(lines.at(-1)).toMatchObject({ command: 'serve', envelope: { ok: true, value: { requests: 1 } } });
  });

  it('explains bad arguments', () => {
    const twins = path.join(temp.dir, 'cli-twins');
    writeFleet(twins);
    writeFileSync(path.join(twins, 'delta.yml'), beta.replace('hostname: beta', 'hostname: delta'));
    const duplicate = runCli(['serve', twins, '--port', '0']);
    expect(duplicate.status).toBe(1);
    expect(duplicate.stderr).toMatch(/MAC address 52:54:00:00:00:0b is in both .*beta\.yml and .*delta\.yml/);
    const halfTls = runCli(['serve', fleet, '--tls-cert', 'cert.pem']);
    expect(halfTls.status).toBe(2);
    expect(halfTls.stderr).toMatch(/HTTPS needs both --tls-cert and --tls-key/);
    expect(runCli(['serve', fleet, '--bind', 'example.com']).stderr).toMatch(/not an IP address/);
    expect(runCli(['serve', path.join(fleet, 'alpha.secrets.yml')]).stderr).toMatch(/is a secrets file/);
    const help = runCli(['serve', '--help']);
    expect(help.stdout).toMatch(/--tls-cert <file>/);
    expect(runCli(['--help']).stdout).toMatch(/^ {2}serve /m);
  });
});
