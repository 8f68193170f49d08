import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI as users run it: the bundled bin from package.json (npm test builds it first). */
export const cliPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/apkovl.mjs');

function ensureBuilt(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build (npm test does)`);
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  ensureBuilt();
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    maxBuffer: 64 << 20,
  });
}

/** Run the CLI without blocking the test process (for servers the test itself runs). */
export function runCliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = startCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

export function startCli(args: string[]) {
  ensureBuilt();
  return spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The wire messages a command printed with --json: events, then one response. */
export function wireLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The progress events among them. */
export function progressEvents(stdout: string): Record<string, unknown>[] {
  return wireLines(stdout)
    .filter((line) => line.type === 'event' && line.name === 'job.progress')
    .map((line) => (line.payload as { progress: Record<string, unknown> }).progress);
}

/** The response's envelope: `{ok: true, value}` or `{ok: false, error}`, checked to be the last line. */
export function responseEnvelope(stdout: string): { ok: boolean; value?: unknown; error?: Record<string, unknown> } {
  const last = wireLines(stdout).at(-1);
  if (last?.type !== 'response') throw new Error(`the last line is not a response: ${JSON.stringify(last)}`);
  return last.envelope as { ok: boolean; value?: unknown; error?: Record<string, unknown> };
}

/** The value of a successful response. */
export function responseValue<T = Record<string, unknown>>(stdout: string): T {
  const envelope = responseEnvelope(stdout);
  if (!envelope.ok) throw new Error(`the command failed: ${JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

/** The texts of the notes (retries, waits) among them. */
export function noteTexts(stdout: string): string[] {
  return wireLines(stdout)
    .filter((line) => line.type === 'event' && line.name === 'job.note')
    .map((line) => (line.payload as { text: string }).text);
}
