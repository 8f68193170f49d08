import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { AppError } from '../../../shared/errors.js';
import { parseMachineYaml, parseSecrets } from '../../../shared/model/machine-yaml.js';
import { DefinitionError } from './definition-error.js';
import { writeFileAtomically } from './private-file.js';

/** The secrets file kept beside a definition: kiosk.yml -> kiosk.secrets.yml. */
export function secretsPathFor(definition: string): string {
  return definition.replace(/(\.ya?ml)?$/i, '.secrets.yml');
}

/** The entries of an existing secrets file, which a saved definition keeps. */
async function keptSecrets(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('not-found', `the secrets file ${file} cannot be read (${(error as Error).message})`, {
      location: file,
      hint: 'put the secrets file back beside its definition, or enter the secrets again in the form',
    });
  }
  const parsed = parseSecrets(text);
  if (parsed.issues.length > 0)
    throw new DefinitionError(
      file,
      parsed.issues,
      'fix the secrets file: a YAML mapping of names to text values, e.g. wifi_home: "my passphrase"',
    );
  return parsed.secrets;
}

/**
 * Save a definition made in the app, and its secrets beside it (mode 0600), after checking it
 * exactly as the CLI will read it. Nothing is written when it does not pass. `keepSecretsFrom`
 * (the secrets file the definition was opened with) carries its entries over, so that an opened
 * definition can be edited and saved, here or elsewhere, without the app ever showing its
 * secrets; the secrets sent replace entries of the same name.
 */
export async function saveDefinition(options: {
  path: string;
  yaml: string;
  secrets: Record<string, string>;
  keepSecretsFrom?: string;
}): Promise<{ path: string; secretsPath: string | null; warnings: string[] }> {
  const secrets = {
    ...(options.keepSecretsFrom !== undefined ? await keptSecrets(options.keepSecretsFrom) : {}),
    ...options.secrets,
  };
  const hasSecrets = Object.keys(secrets).length > 0;
  const parsed = parseMachineYaml(options.yaml, hasSecrets ? secrets : null);
  if (parsed.machine === null) throw new DefinitionError(options.path, parsed.issues);
  const secretsPath = hasSecrets ? secretsPathFor(options.path) : null;
  if (secretsPath !== null) {
    await writeFileAtomically(
      secretsPath,
      `# Secrets of ${options.path}: keep this file out of git.\n${stringify(secrets)}`,
      { private: true },
    );
  }
  await writeFileAtomically(options.path, options.yaml);
  return { path: options.path, secretsPath, warnings: parsed.issues.map((issue) => `${issue.path}: ${issue.message}`) };
}
