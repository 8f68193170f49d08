import type {
  ByteRange,
  VerifyChange,
  VerifyCheck,
  VerifyCheckId,
  VerifyProblem,
} from '../../../shared/model/verify-report.js';

/** What a check found, before its status is derived. */
export interface CheckParts {
  summary: string;
  details?: string[];
  problems?: VerifyProblem[];
  changes?: VerifyChange[];
  /** The check could not or need not run; the summary says why. */
  skipped?: boolean;
}

/** A check whose status follows from its problems: failed on damage or a fault, warning on warnings. */
export function makeCheck(id: VerifyCheckId, title: string, parts: CheckParts): VerifyCheck {
  const problems = parts.problems ?? [];
  const status =
    parts.skipped === true
      ? 'skipped'
      : problems.some((each) => each.severity !== 'warning')
        ? 'failed'
        : problems.length > 0
          ? 'warning'
          : 'ok';
  return {
    id,
    title,
    status,
    summary: parts.summary,
    details: parts.details ?? [],
    problems,
    changes: parts.changes ?? [],
  };
}

export function problem(
  severity: VerifyProblem['severity'],
  message: string,
  where: { paths?: string[]; ranges?: ByteRange[]; hint?: string } = {},
): VerifyProblem {
  return { severity, message, paths: where.paths ?? [], ranges: where.ranges ?? [], hint: where.hint ?? null };
}

export function change(message: string, paths: string[] = []): VerifyChange {
  return { message, paths };
}

/** "1 file", "3 files". */
export function count(value: number, noun: string, plural = `${noun}s`): string {
  return `${value} ${value === 1 ? noun : plural}`;
}

/** Unix seconds as `2026-11-28 10:02 UTC`. */
export function showTime(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "a, b and c"; at most `limit` items, then "and N more". */
export function showList(items: readonly string[], limit = 6): string {
  const shown = items.slice(0, limit);
  if (items.length > limit) shown.push(`${items.length - limit} more`);
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1] ?? ''}`;
}
