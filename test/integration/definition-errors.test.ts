import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseValue, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Problems in a definition's files are input errors (exit 1) that name the file they are in:
 * the secrets file when it is the secrets file that is wrong, and a YAML alias bomb is one of
 * them, with its line and column, not an internal error with a stack.
 */

let temp: ReturnType<typeof makeTempDir>;
let definition: string;
const laughs = [
  'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
].join('\n');
const head = 'version: 1\nhostname: host\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\n';

function write(name: string, text: string): string {
  const file = path.join(temp.dir, name);
  writeFileSync(file, text);
  return file;
}

const lastJson = (text: string) => responseValue(text);

beforeAll(() => {
  temp = makeTempDir();
  definition = write('machine.yml', head);
});
afterAll(() => temp.cleanup());

describe('errors in a secrets file name the secrets file', () => {
  it('in apkovl validate, as text and as JSON', () => {
    const secrets = write('broken.secrets.yml', 'wifi: "ok passphrase"\nlist: [1, 2]\n');
    const result = runCli(['validate', definition, '--secrets', secrets]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`error: ${secrets}:2:1 list: the secret list must be a text value\n`);
    const json = lastJson(runCli(['validate', definition, '--secrets', secrets, '--json']).stdout);
    expect(json).toMatchObject({ ok: false, file: secrets, issues: [{ path: 'list', line: 2 }] });
  });

  it('in apkovl overlay, with a hint about the secrets file', () => {
    const secrets = write('syntax.secrets.yml', 'wifi: [\n');
    const result = runCli(['overlay', definition, '--secrets', secrets, '-o', path.join(temp.dir, 'out')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^apkovl: error: ${secrets}: a problem:\\n  ${secrets}:2:1 \\(secrets\\): `),
    );
    expect(result.stderr).not.toContain('machine.yml');
    expect(result.stderr).toMatch(/hint: fix the secrets file/);
  });

  it('with aliases in the secrets file: an input error, nothing expanded', () => {
    const secrets = write('laughs.secrets.yml', `${laughs}\n`);
    const result = runCli(['validate', definition, '--secrets', secrets]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`error: ${secrets}:5:1 x-e: the secret x-e must be a text value`);
  });
});

describe('a YAML alias bomb in a definition', () => {
  it('is an input error at the alias, in validate, overlay and build', () => {
    const bomb = write('bomb.yml', `${head}${laughs}\n`);
    for (const args of [
      ['validate', bomb],
      ['overlay', bomb, '-o', path.join(temp.dir, 'bomb-out')],
      ['build', bomb, '--boot-media', path.join(temp.dir, 'missing.tar.gz'), '--output', path.join(temp.dir, 'x.img')],
    ]) {
      const result = runCli(args);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`${bomb}:9:10 (yaml): the YAML aliases expand to too much data`);
      expect(result.stderr).not.toMatch(/internal error|at .*\.mjs/);
    }
  });
});
