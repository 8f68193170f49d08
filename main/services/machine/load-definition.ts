import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import unzipper from 'unzipper';
import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';
import { parseMachineYaml, parseSecrets, type LocatedIssue } from '../../../shared/model/machine-yaml.js';
import type { ResolvedSources, TreeItem } from '../overlay/source-files.js';
import { DefinitionError } from './definition-error.js';

/** Sources are unpacked into RAM at every boot: keep them reasonable. */
const MAX_SOURCE_BYTES = 64 << 20;

export interface LoadedDefinition {
  file: string;
  machine: Machine;
  sources: ResolvedSources;
  hostKeySeed: Buffer | null;
  /** Warnings (not errors) about the definition, with their location. */
  warnings: LocatedIssue[];
}

async function readText(file: string, what: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('not-found', `cannot read the ${what}: ${(error as Error).message}`, {
      location: file,
      hint: `check the path given ${option}`,
      cause: error,
    });
  }
}

function issue(pathText: string, message: string): LocatedIssue {
  return { path: pathText, line: null, column: null, message, severity: 'error' };
}

function cleanRelative(name: string): string | null {
  const normalised = path.posix.normalize(name.replace(/\\/g, '/'));
  if (normalised.startsWith('/') || normalised === '..' || normalised.startsWith('../') || /^[A-Za-z]:/.test(name))
    return null;
  return normalised.replace(/^\.\/?/, '').replace(/\/$/, '');
}

async function readFolderTree(root: string): Promise<TreeItem[]> {
  const items: TreeItem[] = [];
  let total = 0;
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const full = path.join(folder, name);
      const relative = prefix === '' ? name : `${prefix}/${name}`;
      const info = await lstat(full);
      if (info.isSymbolicLink()) items.push({ type: 'symlink', path: relative, target: await readlink(full) });
      else if (info.isDirectory()) {
        items.push({ type: 'directory', path: relative, mode: 0o755 });
        await walk(full, relative);
      } else if (info.isFile()) {
        total += info.size;
        if (total > MAX_SOURCE_BYTES)
          throw new AppError(
            'invalid-input',
            `the tree holds more than ${MAX_SOURCE_BYTES >> 20} MiB; an overlay is unpacked into RAM at every boot`,
            { location: root },
          );
        items.push({
          type: 'file',
          path: relative,
          mode: info.mode & 0o111 ? 0o755 : 0o644,
          content: await readFile(full),
        });
      } else {
        throw new AppError('invalid-input', `${relative} is a device, socket or pipe`, {
          location: root,
          hint: 'an overlay holds files, folders and links only',
        });
      }
    }
  };
  await walk(root, '');
  return items;
}

/** A .zip merged into the machine's /: entries that would land outside (zip-slip) are refused. */
async function readZipTree(file: string, where: string): Promise<TreeItem[]> {
  let directory: Awaited<ReturnType<typeof unzipper.Open.file>>;
  try {
    directory = await unzipper.Open.file(file);
  } catch (error) {
    throw new AppError('invalid-input', `not a readable zip archive (${(error as Error).message})`, {
      location: `${where}: ${file}`,
      cause: error,
    });
  }
  const items: TreeItem[] = [];
  let total = 0;
  for (const entry of directory.files) {
    const relative = cleanRelative(entry.path);
    if (relative === null || relative.split('/').includes('..')) {
      throw new AppError(
        'invalid-input',
        `the zip entry "${entry.path}" would be written outside the machine's folders`,
        {
          location: `${where}: ${file}`,
          hint: 'zip archives with absolute paths or .. are refused (zip-slip); repack it with relative paths',
        },
      );
    }
    if (relative === '') continue;
    const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
    if (entry.type === 'Directory') {
      items.push({ type: 'directory', path: relative, mode: 0o755 });
      continue;
    }
    total += entry.uncompressedSize;
    if (total > MAX_SOURCE_BYTES)
      throw new AppError('invalid-input', `the zip holds more than ${MAX_SOURCE_BYTES >> 20} MiB`, {
        location: `${where}: ${file}`,
      });
    const content = await entry.buffer();
    if ((unixMode & 0o170000) === 0o120000)
      items.push({ type: 'symlink', path: relative, target: content.toString('utf8') });
    else items.push({ type: 'file', path: relative, mode: unixMode & 0o111 ? 0o755 : 0o644, content });
  }
  return items;
}

/**
 * Read a machine definition and everything it refers to: the secrets file, `files[].source`
 * and `files[].tree` (relative to the definition's folder). Throws a DefinitionError listing
 * every problem with its line and column.
 */
export async function loadDefinition(file: string, options: { secretsFile?: string } = {}): Promise<LoadedDefinition> {
  const text = await readText(file, 'machine definition', 'on the command line');
  let secrets: Record<string, string> | null = null;
  if (options.secretsFile !== undefined) {
    const parsedSecrets = parseSecrets(await readText(options.secretsFile, 'secrets file', 'with --secrets'));
    if (parsedSecrets.issues.length > 0) throw new DefinitionError(options.secretsFile, parsedSecrets.issues);
    secrets = parsedSecrets.secrets;
  }
  const parsed = parseMachineYaml(text, secrets);
  if (parsed.machine === null) throw new DefinitionError(file, parsed.issues);
  const machine = parsed.machine;
  const base = path.dirname(path.resolve(file));
  const sources: ResolvedSources = { files: new Map(), trees: new Map() };
  const problems: LocatedIssue[] = [];
  for (const [index, item] of machine.files.entries()) {
    const where = `files[${index}]`;
    if ('path' in item) {
      if (item.source === undefined) continue;
      const full = path.resolve(base, item.source);
      const info = await stat(full).catch(() => null);
      if (info === null || !info.isFile())
        problems.push(issue(`${where}.source`, `${item.source} is not a file (looked for ${full})`));
      else if (info.size > MAX_SOURCE_BYTES)
        problems.push(issue(`${where}.source`, `${item.source} is larger than ${MAX_SOURCE_BYTES >> 20} MiB`));
      else sources.files.set(index, await readFile(full));
      continue;
    }
    const full = path.resolve(base, item.tree);
    const info = await stat(full).catch(() => null);
    if (info === null) problems.push(issue(`${where}.tree`, `${item.tree} does not exist (looked for ${full})`));
    else if (info.isDirectory()) sources.trees.set(index, await readFolderTree(full));
    else if (/\.zip$/i.test(full)) sources.trees.set(index, await readZipTree(full, `${where}.tree`));
    else problems.push(issue(`${where}.tree`, `${item.tree} is neither a folder nor a .zip`));
  }
  if (problems.length > 0) throw new DefinitionError(file, problems);

  let hostKeySeed: Buffer | null = null;
  const seedText = secrets?.ssh_host_key_seed;
  if (seedText !== undefined) {
    hostKeySeed = Buffer.from(seedText, 'base64');
    if (hostKeySeed.length !== 32) {
      throw new AppError('invalid-input', 'ssh_host_key_seed must be 32 bytes in base64 (44 characters)', {
        location: options.secretsFile ?? 'secrets',
        hint: 'make one with: openssl rand -base64 32',
      });
    }
  }
  return {
    file,
    machine,
    sources,
    hostKeySeed,
    warnings: parsed.issues.filter((found) => found.severity === 'warning'),
  };
}
