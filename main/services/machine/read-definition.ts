import { stat, readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { secretsPathFor } from './save-definition.js';

/** A definition is a small text file; anything larger is not one. */
const MAX_DEFINITION_BYTES = 1 << 20;

/** A definition's text for the app's editor, and its secrets file beside it when there is one. */
export async function readDefinitionText(
  file: string,
): Promise<{ path: string; yaml: string; secretsPath: string | null }> {
  const info = await stat(file).catch((error: unknown) => {
    throw new AppError('not-found', `cannot open ${displayText(file)}: ${(error as Error).message}`, {
      location: file,
      cause: error,
    });
  });
  if (!info.isFile() || info.size > MAX_DEFINITION_BYTES) {
    throw new AppError('invalid-input', `${displayText(file)} is not a machine definition (a YAML file under 1 MiB)`, {
      location: file,
      hint: 'open a .yml file that apkovl init or the app wrote',
    });
  }
  const yaml = await readFile(file, 'utf8');
  const secretsPath = secretsPathFor(file);
  const hasSecrets = await stat(secretsPath).then(
    (found) => found.isFile(),
    () => false,
  );
  return { path: file, yaml, secretsPath: hasSecrets ? secretsPath : null };
}
