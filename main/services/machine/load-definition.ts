import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';
import {
  formatPath,
  parseMachineYaml,
  parseSecrets,
  yamlLocator,
  type LocatedIssue,
} from '../../../shared/model/machine-yaml.js';
import { displayText } from '../../../shared/rules/display.js';
import type { ResolvedSources } from '../overlay/source-files.js';
import { DefinitionError } from './definition-error.js';
import { secretsPathFor } from './save-definition.js';
import { definitionFolder, locateSource } from './source-location.js';
import { MAX_SOURCE_BYTES, readFolderTree, readZipTree } from './source-trees.js';

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

const OUTSIDE_HINT =
  "copy the file or folder next to the definition (or into a folder beside it) and refer to it by a relative path: files outside the definition's folder are never copied to the card";

/**
 * Read `files[].source` and `files[].tree`. Each must be inside the definition's folder once
 * symlinks are resolved; a secrets file may not be one of them nor be in a tree.
 */
async function readSources(
  file: string,
  text: string,
  machine: Machine,
  secretsFile: string | undefined,
): Promise<ResolvedSources> {
  const sources: ResolvedSources = { files: new Map(), trees: new Map() };
  if (machine.files.length === 0) return sources;
  const locate = yamlLocator(text);
  const problems: LocatedIssue[] = [];
  let outside = false;
  const problem = (path: (string | number)[], message: string) =>
    problems.push({ path: formatPath(path), ...locate(path), message, severity: 'error' });
  const folder = await definitionFolder(file);
  // The secrets file given, and the one beside the definition (kiosk.secrets.yml) even when not given.
  const secretFiles = new Set<string>();
  for (const candidate of [secretsFile, secretsPathFor(file)]) {
    const real = candidate === undefined ? null : await realpath(candidate).catch(() => null);
    if (real !== null) secretFiles.add(real);
  }
  for (const [index, item] of machine.files.entries()) {
    const field = 'path' in item ? 'source' : 'tree';
    const reference = 'path' in item ? item.source : item.tree;
    if (reference === undefined) continue;
    const where = ['files', index, field];
    const shown = displayText(reference);
    const found = await locateSource(folder, reference);
    if (found.kind === 'outside') {
      outside = true;
      const leads =
        found.path === path.resolve(folder.given, reference) ? ' is' : ` leads to ${displayText(found.path)},`;
      problem(where, `${shown}${leads} outside the definition's folder ${displayText(folder.real)}`);
      continue;
    }
    if (found.kind === 'missing') {
      problem(where, `${shown} does not exist (looked for ${displayText(found.path)})`);
      continue;
    }
    if (secretFiles.has(found.path)) {
      problem(where, `${shown} is the secrets file: its values would reach the card in clear text`);
      continue;
    }
    const info = await stat(found.path);
    if ('path' in item) {
      if (!info.isFile()) problem(where, `${shown} is not a file (found ${displayText(found.path)})`);
      else if (info.size > MAX_SOURCE_BYTES) problem(where, `${shown} is larger than ${MAX_SOURCE_BYTES >> 20} MiB`);
      else sources.files.set(index, await readFile(found.path));
    } else if (info.isDirectory()) {
      sources.trees.set(index, await readFolderTree(found.path, formatPath(where), secretFiles));
    } else if (/\.zip$/i.test(found.path)) {
      sources.trees.set(index, await readZipTree(found.path, formatPath(where)));
    } else problem(where, `${shown} is neither a folder nor a .zip`);
  }
  if (problems.length > 0) throw new DefinitionError(file, problems, outside ? OUTSIDE_HINT : undefined);
  return sources;
}

/**
 * Read a machine definition and everything it refers to: the secrets file, `files[].source`
 * and `files[].tree` (inside the definition's folder). Throws a DefinitionError listing every
 * problem with its line and column, naming the file it is in.
 */
export async function loadDefinition(file: string, options: { secretsFile?: string } = {}): Promise<LoadedDefinition> {
  const text = await readText(file, 'machine definition', 'on the command line');
  let secrets: Record<string, string> | null = null;
  if (options.secretsFile !== undefined) {
    const parsedSecrets = parseSecrets(await readText(options.secretsFile, 'secrets file', 'with --secrets'));
    if (parsedSecrets.issues.length > 0)
      throw new DefinitionError(
        options.secretsFile,
        parsedSecrets.issues,
        'fix the secrets file: a YAML mapping of names to text values, e.g. wifi_home: "my passphrase"',
      );
    secrets = parsedSecrets.secrets;
  }
  const parsed = parseMachineYaml(text, secrets);
  if (parsed.machine === null) throw new DefinitionError(file, parsed.issues);
  const machine = parsed.machine;
  const sources = await readSources(file, text, machine, options.secretsFile);

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
