import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefinitionError } from '../../main/services/machine/definition-error.js';
import { loadDefinition } from '../../main/services/machine/load-definition.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * `files[].source` and `files[].tree` must stay inside the definition's folder once symlinks are
 * resolved: otherwise a definition copies files of the machine that builds the card (a private
 * key, /etc/shadow) onto it.
 */

let temp: ReturnType<typeof makeTempDir>;
let root: string;
let folder: string;
let hostKey: string;
const zipFixture = path.resolve('test/fixtures/definitions/extra.zip');
const head = 'version: 1\nhostname: sources\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\nfiles:\n';

beforeAll(() => {
  temp = makeTempDir();
  root = realpathSync(temp.dir);
  // The host: a private file and a private folder next to (not inside) the definition's folder.
  mkdirSync(path.join(root, 'host/keys'), { recursive: true });
  hostKey = path.join(root, 'host/keys/id_ed25519');
  writeFileSync(hostKey, 'PRIVATE KEY OF THE BUILD MACHINE\n');
  writeFileSync(path.join(root, 'host/extra.zip'), '');
  // The definition's folder, with legitimate sources and links leading out.
  folder = path.join(root, 'machines/kiosk');
  mkdirSync(path.join(folder, 'files/etc'), { recursive: true });
  writeFileSync(path.join(folder, 'files/etc/motd'), 'Welcome\n');
  mkdirSync(path.join(folder, 'tree/etc'), { recursive: true });
  writeFileSync(path.join(folder, 'tree/etc/issue'), 'Kiosk\n');
  symlinkSync('/etc/passwd', path.join(folder, 'tree/etc/passwd-link'));
  symlinkSync('../../host/keys/id_ed25519', path.join(folder, 'key-link'));
  symlinkSync('../../host/keys', path.join(folder, 'tree-link'));
  symlinkSync(zipFixture, path.join(folder, 'zip-link.zip'));
  writeFileSync(path.join(folder, 'kiosk.secrets.yml'), 'wifi: "correct horse battery"\n');
});
afterAll(() => temp.cleanup());

function definition(name: string, files: string): string {
  const file = path.join(folder, `${name}.yml`);
  writeFileSync(file, `${head}${files}`);
  return file;
}

async function refusal(file: string, options: { secretsFile?: string } = {}): Promise<DefinitionError> {
  const error: unknown = await loadDefinition(file, options).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DefinitionError);
  return error as DefinitionError;
}

describe('sources outside the definition folder', () => {
  const outside = () => `outside the definition's folder ${folder}`;
  it.each([
    [
      'an absolute path',
      () => `  - { path: /etc/x, source: ${hostKey} }\n`,
      'files[0].source',
      () => `${hostKey} is ${outside()}`,
    ],
    [
      'a ../ escape',
      () => '  - { path: /etc/x, source: ../../host/keys/id_ed25519 }\n',
      'files[0].source',
      () => `../../host/keys/id_ed25519 is ${outside()}`,
    ],
    [
      'a symlink leading out',
      () => '  - { path: /etc/x, source: key-link }\n',
      'files[0].source',
      () => `key-link leads to ${hostKey}, ${outside()}`,
    ],
    [
      'an absolute tree',
      () => `  - { path: /etc/motd, content: hi }\n  - { tree: ${path.join(root, 'host/keys')} }\n`,
      'files[1].tree',
      () => `${path.join(root, 'host/keys')} is ${outside()}`,
    ],
    [
      'a tree root that is a symlink leading out',
      () => '  - { tree: tree-link }\n',
      'files[0].tree',
      () => `tree-link leads to ${path.join(root, 'host/keys')}, ${outside()}`,
    ],
    [
      'a .zip elsewhere',
      () => '  - { tree: ../../host/extra.zip }\n',
      'files[0].tree',
      () => `../../host/extra.zip is ${outside()}`,
    ],
    [
      'a .zip through a symlink',
      () => '  - { tree: zip-link.zip }\n',
      'files[0].tree',
      () => `zip-link.zip leads to ${zipFixture}, ${outside()}`,
    ],
  ])('refuses %s, naming the field and where it leads', async (_what, files, field, message) => {
    const error = await refusal(definition('outside', files()));
    expect(error.issues).toEqual([
      {
        path: field,
        line: field === 'files[1].tree' ? 7 : 6,
        column: expect.any(Number),
        message: message(),
        severity: 'error',
      },
    ]);
    expect(error.hint).toMatch(/copy the file or folder next to the definition/);
  });

  it('refuses the secrets file as a source, and a tree that holds it', async () => {
    const secretsFile = path.join(folder, 'kiosk.secrets.yml');
    const asSource = await refusal(definition('secret-source', '  - { path: /etc/x, source: kiosk.secrets.yml }\n'), {
      secretsFile,
    });
    expect(asSource.issues[0]).toMatchObject({
      path: 'files[0].source',
      message: expect.stringMatching(/secrets file/),
    });
    const inTree = await loadDefinition(definition('secret-tree', '  - { tree: . }\n'), { secretsFile }).catch(
      (caught: unknown) => caught,
    );
    expect(inTree).toMatchObject({
      location: `files[0].tree: ${folder}`,
      message: expect.stringMatching(/secrets file/),
    });
    // The secrets file beside the definition is refused even when it is not given.
    const beside = await refusal(definition('kiosk', '  - { path: /etc/x, source: ./kiosk.secrets.yml }\n'));
    expect(beside.issues[0]).toMatchObject({ path: 'files[0].source', message: expect.stringMatching(/secrets file/) });
  });

  it('still reads sources inside the folder, and keeps links inside a tree as links', async () => {
    const loaded = await loadDefinition(
      definition('inside', '  - { path: /etc/motd, source: files/etc/motd }\n  - { tree: ./tree/ }\n'),
    );
    expect(loaded.sources.files.get(0)?.toString()).toBe('Welcome\n');
    const tree = loaded.sources.trees.get(1) ?? [];
    expect(tree).toContainEqual({ type: 'symlink', path: 'etc/passwd-link', target: '/etc/passwd' });
    expect(tree.find((item) => item.path === 'etc/issue')).toMatchObject({ type: 'file' });
  });

  it('is an input error in the CLI, with line and column, and nothing written', () => {
    const file = definition('cli', `  - { path: /etc/x, source: ${hostKey} }\n`);
    const out = path.join(root, 'out');
    const result = runCli(['overlay', file, '-o', out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cli.yml:6:29 files[0].source: ${hostKey} is outside the definition's folder`);
    expect(result.stderr).not.toContain('PRIVATE KEY');
    expect(existsSync(out)).toBe(false);
  });
});
