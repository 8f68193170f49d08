import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { LocatedIssue } from '../../../shared/model/machine-yaml.js';
import { lintApkovl, type ApkovlMember, type LintFinding } from '../../../shared/rules/apkovl-lint.js';
import { loadDefinition, type LoadedDefinition } from '../machine/load-definition.js';
import { toolVersion } from '../tool-version.js';
import { writeFileAtomically } from '../machine/private-file.js';
import { definitionSources, refuseOutputOverInput } from '../output-guard.js';
import { readApkovl } from './apkovl-reader.js';
import { packApkovl } from './apkovl-writer.js';
import { generateOverlay, type GeneratedOverlay } from './generate.js';

export interface OverlayResult {
  fileName: string;
  hostname: string;
  data: Buffer;
  sha256: string;
  generated: GeneratedOverlay;
  /** The lint rules run on the result: a generated overlay must pass them all. */
  findings: LintFinding[];
  definitionWarnings: LocatedIssue[];
}

export interface OverlayOptions {
  /** Unix seconds for every member; default 0 (or SOURCE_DATE_EPOCH, which the CLI passes). */
  mtime?: number;
  /** Release branch of the boot media (v3.22), to pin latest-stable. */
  releaseBranch?: string;
}

/** Definition -> apkovl bytes, checked by the same lint rules `apkovl inspect` runs. */
export async function overlayFromDefinition(
  loaded: LoadedDefinition,
  options: OverlayOptions = {},
): Promise<OverlayResult> {
  const generated = generateOverlay(loaded.machine, {
    sources: loaded.sources,
    toolVersion: toolVersion(),
    hostKeySeed: loaded.hostKeySeed,
    ...(options.releaseBranch !== undefined ? { releaseBranch: options.releaseBranch } : {}),
  });
  const data = await packApkovl(generated.entries, options.mtime ?? 0);
  const findings = lintApkovl(generated.fileName, await readApkovl(data, generated.fileName));
  const errors = findings.filter((found) => found.severity === 'error');
  if (errors.length > 0) {
    // The definition's own files can break what the generator guarantees (a CRLF script, ...).
    throw new AppError(
      'invalid-input',
      `the generated overlay fails ${errors.length} check(s):\n${errors.map((found) => `  ${found.member ?? ''}: ${found.message}`).join('\n')}`,
      { location: loaded.file, hint: errors[0]?.fix ?? '' },
    );
  }
  return {
    fileName: generated.fileName,
    hostname: generated.hostname,
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    generated,
    findings,
    definitionWarnings: loaded.warnings,
  };
}

/** `apkovl overlay`: write DIR/<hostname>.apkovl.tar.gz atomically. */
export async function writeOverlay(options: {
  definition: string;
  secretsFile?: string;
  outputDir: string;
  mtime?: number;
}): Promise<OverlayResult & { path: string }> {
  const loaded = await loadDefinition(
    options.definition,
    options.secretsFile !== undefined ? { secretsFile: options.secretsFile } : {},
  );
  const result = await overlayFromDefinition(loaded, options.mtime !== undefined ? { mtime: options.mtime } : {});
  const existing = await stat(options.outputDir).catch(() => null);
  if (existing !== null && !existing.isDirectory()) {
    throw new AppError('invalid-input', `${options.outputDir} is not a folder`, {
      location: '--output',
      hint: 'give the folder to write <hostname>.apkovl.tar.gz into',
    });
  }
  await mkdir(options.outputDir, { recursive: true });
  const target = path.join(options.outputDir, result.fileName);
  await refuseOutputOverInput({ name: '--output', path: target }, [
    { name: 'the machine definition', path: options.definition },
    ...(options.secretsFile !== undefined ? [{ name: '--secrets', path: options.secretsFile }] : []),
    ...definitionSources(loaded),
  ]);
  // The overlay may hold password hashes, Wi-Fi keys and host keys: readable by its owner only.
  await writeFileAtomically(target, result.data, { private: true }).catch((error: unknown) => {
    throw new AppError('io', (error as Error).message, { location: '--output', cause: error });
  });
  return { ...result, path: target };
}

export interface InspectResult {
  file: string;
  members: ApkovlMember[];
  findings: LintFinding[];
}

/** `apkovl inspect`: list any apkovl and run the lint rules on it. */
export async function inspectApkovl(file: string): Promise<InspectResult> {
  // Read as a stream from the file: an apkovl of any size, within the reader's limits.
  const members = await readApkovl({ path: file }, file);
  return { file, members, findings: lintApkovl(path.basename(file), members) };
}
