import type { VerifyCheck, VerifyProblem, VerifyVerdict } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { count, showList } from './checks.js';

const ORDER: Record<VerifyProblem['severity'], number> = { damage: 0, fault: 1, warning: 2 };

/**
 * The card's verdict from its checks (damage before faults before changes), a sentence for it,
 * and what to do: every problem's hint once, the most serious first.
 */
export function conclude(
  checks: readonly VerifyCheck[],
  context: { writtenBy: string | null; mediaCompared: boolean },
): { verdict: VerifyVerdict; headline: string; todo: string[] } {
  const problems = checks.flatMap((check) => check.problems);
  const changes = checks.flatMap((check) => check.changes);
  const damage = problems.filter((each) => each.severity === 'damage').length;
  const faults = problems.filter((each) => each.severity === 'fault').length;
  const warnings = problems.filter((each) => each.severity === 'warning').length;
  const todo = [
    ...new Set(
      [...problems]
        .sort((left, right) => ORDER[left.severity] - ORDER[right.severity])
        .flatMap((each) => (each.hint === null ? [] : [each.hint])),
    ),
  ];
  const andWarnings = warnings > 0 ? ` (${count(warnings, 'warning')})` : '';
  if (damage > 0) {
    const paths = [
      ...new Set(problems.filter((each) => each.severity === 'damage').flatMap((each) => each.paths)),
    ].filter((each) => each !== '/');
    const what =
      paths.length === 0
        ? 'the partition table or the file system is broken'
        : `${showList(paths.map(displayText), 4)} ${paths.length === 1 ? 'is' : 'are'} not as written`;
    return { verdict: 'damaged', headline: `Damaged: ${what}; the card may not boot, or boot wrongly.`, todo };
  }
  if (faults > 0) {
    return {
      verdict: 'faulty',
      headline: `Faulty: the card reads back intact, but ${count(faults, 'problem')} keep${faults === 1 ? 's' : ''} it from working as intended${andWarnings}.`,
      todo,
    };
  }
  if (changes.length > 0) {
    return {
      verdict: 'changed',
      headline: `Good, with ${count(changes.length, 'change')} made on purpose since it was written${andWarnings}.`,
      todo,
    };
  }
  return {
    verdict: 'good',
    headline:
      context.writtenBy === null
        ? `Good: every check that could run passed${andWarnings}; without a manifest, ${context.mediaCompared ? 'files were checked against the boot media only' : 'files could not be checked one by one'}.`
        : `Good: the card is exactly as ${context.writtenBy} wrote it${andWarnings}.`,
    todo,
  };
}
