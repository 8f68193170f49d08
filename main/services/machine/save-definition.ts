import { stringify } from 'yaml';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';
import { DefinitionError } from './definition-error.js';
import { writeFileAtomically } from './private-file.js';

/** The secrets file kept beside a definition: kiosk.yml -> kiosk.secrets.yml. */
export function secretsPathFor(definition: string): string {
  return definition.replace(/(\.ya?ml)?$/i, '.secrets.yml');
}

/**
 * Save a definition made in the app, and its secrets beside it (mode 0600), after checking it
 * exactly as the CLI will read it. Nothing is written when it does not pass.
 */
export async function saveDefinition(options: {
  path: string;
  yaml: string;
  secrets: Record<string, string>;
}): Promise<{ path: string; secretsPath: string | null; warnings: string[] }> {
  const hasSecrets = Object.keys(options.secrets).length > 0;
  const parsed = parseMachineYaml(options.yaml, hasSecrets ? options.secrets : null);
  if (parsed.machine === null) throw new DefinitionError(options.path, parsed.issues);
  const secretsPath = hasSecrets ? secretsPathFor(options.path) : null;
  if (secretsPath !== null) {
    await writeFileAtomically(
      secretsPath,
      `# Secrets of ${options.path}: keep this file out of git.\n${stringify(options.secrets)}`,
      { private: true },
    );
  }
  await writeFileAtomically(options.path, options.yaml);
  return { path: options.path, secretsPath, warnings: parsed.issues.map((issue) => `${issue.path}: ${issue.message}`) };
}
