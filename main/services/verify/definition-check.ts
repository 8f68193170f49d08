import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type { VerifyRequest } from '../../../shared/model/requests.js';
import type { DefinitionComparison, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { compareApkovlMembers } from '../../../shared/rules/apkovl-diff.js';
import { displayText } from '../../../shared/rules/display.js';
import type { LoadedDefinition } from '../machine/load-definition.js';
import { readApkovl } from '../overlay/apkovl-reader.js';
import type { ApkovlResult } from './apkovl-check.js';
import { change, count, makeCheck, problem, showList } from './checks.js';
import type { ReleaseFacts } from './release-check.js';

export interface LoadedMachine {
  loaded: LoadedDefinition;
  /** SHA-256 of the definition file as read. */
  sha256: string;
}

const MAX_LISTED = 40;

/** Load the definition before the card is read: a definition that cannot be used stops verify at once. */
export async function loadMachine(machine: NonNullable<VerifyRequest['machine']>): Promise<LoadedMachine> {
  const { loadDefinition } = await import('../machine/load-definition.js');
  const loaded = await loadDefinition(
    machine.file,
    machine.secretsFile !== undefined ? { secretsFile: machine.secretsFile } : {},
  );
  return {
    loaded,
    sha256: createHash('sha256')
      .update(await readFile(machine.file))
      .digest('hex'),
  };
}

/** What the definition says the card must be, against what the card says it is. */
function targetProblems(loaded: LoadedDefinition, release: ReleaseFacts): VerifyProblem[] {
  const { target, alpine } = loaded.machine;
  const problems: VerifyProblem[] = [];
  const hint = 'write the card for this definition (apkovl build), or compare with the definition it was made from';
  if (release.board !== null && release.board !== target.board) {
    problems.push(problem('fault', `the definition is for ${target.board}, the card boots ${release.board}`, { hint }));
  }
  if (release.arch !== null && release.arch !== target.arch) {
    problems.push(
      problem('fault', `the definition is for ${target.arch}, the card holds ${displayText(release.arch)}`, { hint }),
    );
  }
  if (alpine.version !== undefined && release.alpineVersion !== null && alpine.version !== release.alpineVersion) {
    problems.push(
      problem(
        'fault',
        `the definition pins Alpine ${alpine.version}, the card holds ${displayText(release.alpineVersion)}`,
        {
          hint,
        },
      ),
    );
  }
  return problems;
}

/**
 * Whether the card's apkovl is exactly what the definition produces for the card's release (the
 * overlay is deterministic), and if not, which members differ and how.
 */
export async function checkDefinition(
  machine: LoadedMachine,
  apkovl: ApkovlResult,
  release: ReleaseFacts,
  manifest: CardManifest | null,
  options: { mtime: number },
): Promise<{ check: VerifyCheck; comparison: DefinitionComparison | null }> {
  const file = machine.loaded.file;
  const title = `The apkovl against ${path.basename(file)}`;
  const { overlayFromDefinition } = await import('../overlay/overlay-service.js');
  const made = await overlayFromDefinition(machine.loaded, {
    mtime: options.mtime,
    ...(release.branch !== null ? { releaseBranch: release.branch } : {}),
  });
  const expected = await readApkovl(made.data, made.fileName);
  if (apkovl.facts === null || apkovl.members === null) {
    return {
      check: makeCheck('definition', title, {
        summary: 'nothing to compare: the card has no readable apkovl',
        skipped: true,
      }),
      comparison: null,
    };
  }
  const sameBytes = apkovl.facts.sha256 === made.sha256;
  const differences = sameBytes ? [] : compareApkovlMembers(expected, apkovl.members);
  const sameName = apkovl.facts.name === made.fileName;
  const comparison: DefinitionComparison = {
    file,
    identical: sameName && differences.length === 0,
    sameBytes,
    sameDefinitionFile: manifest?.definition ? manifest.definition.sha256 === machine.sha256 : null,
    writtenFromIt: manifest?.apkovl ? manifest.apkovl.sha256 === made.sha256 : null,
    expected: { name: made.fileName, sha256: made.sha256, members: expected.length },
    differences,
  };
  const problems = targetProblems(machine.loaded, release);
  if (!sameName) {
    problems.push(
      problem('fault', `the definition makes ${made.fileName}, the card holds ${displayText(apkovl.facts.name)}`, {
        paths: [apkovl.facts.name],
      }),
    );
  }
  const changes = [];
  const listed = showList([...new Set(differences.map((each) => displayText(each.path)))], 8);
  if (differences.length > 0) {
    const changed = [...new Set(differences.map((each) => each.path))].length;
    if (comparison.writtenFromIt === true && apkovl.rewritten) {
      changes.push(
        change(`lbu commit changed ${count(changed, 'member')} of the apkovl since: ${listed}`, [apkovl.facts.name]),
      );
      problems.push(
        problem(
          'warning',
          `the card was written with exactly what ${displayText(path.basename(file))} produces; ${count(changed, 'member')} changed since (${listed})`,
          {
            paths: [apkovl.facts.name],
            hint: 'to go back to the definition, write the card again (apkovl build)',
          },
        ),
      );
    } else {
      problems.push(
        problem(
          'fault',
          `the apkovl is not what ${displayText(path.basename(file))} produces: ${count(changed, 'member')} differ (${listed})`,
          {
            paths: [apkovl.facts.name],
            hint: 'write the card again from this definition (apkovl build), or compare with the definition it was made from',
          },
        ),
      );
    }
  }
  const details = differences
    .slice(0, MAX_LISTED)
    .map((each) => `${each.how.padEnd(8)} ${displayText(each.path)}: ${each.detail}`);
  if (differences.length > MAX_LISTED) details.push(`... and ${differences.length - MAX_LISTED} more`);
  if (comparison.sameDefinitionFile === true) details.push('the manifest names this very definition file');
  return {
    check: makeCheck('definition', title, {
      summary: comparison.identical
        ? `identical: exactly what ${displayText(path.basename(file))} produces${sameBytes ? '' : ' (the archive timestamps differ)'}`
        : `${count(differences.length, 'difference')}`,
      details,
      problems,
      changes,
    }),
    comparison,
  };
}
