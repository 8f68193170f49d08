import { formatBytes } from '../../shared/model/size.js';
import type { ByteRange, VerifyCheck, VerifyProblem, VerifyReport } from '../../shared/model/verify-report.js';
import { displayText } from '../../shared/rules/display.js';

/**
 * A verify report for a person: the verdict, the card's facts, one line per check that is fine,
 * each problem with where it is on the medium, what changed since the card was written, the
 * machine's first-boot report and what to do. Text from the card reaches here escaped
 * (messages) or is escaped here (names and paths).
 */

const STATUS: Record<VerifyCheck['status'], string> = {
  ok: 'ok',
  warning: 'WARNING',
  failed: 'FAILED',
  skipped: 'skipped',
};
const SEVERITY: Record<VerifyProblem['severity'], string> = { damage: 'damage', fault: 'fault', warning: 'warning' };
const MAX_RANGES = 3;

/** `bytes 1049600-1050111` (inclusive, as people count), the way dd's skip= and count= need them. */
export function showRange(range: ByteRange): string {
  return `bytes ${range.start}-${range.end - 1}`;
}

function facts(report: VerifyReport): string[] {
  const { card } = report;
  const lines: string[] = [];
  const row = (name: string, value: string) => lines.push(`  ${name.padEnd(10)} ${value}`);
  if (card.partition !== null) {
    const { partition, volume } = card;
    const volumeText =
      volume === null ? '' : `, label ${displayText(volume.label ?? '(none)')}, serial ${volume.serial}`;
    row(
      'partition',
      `${partition.number}: ${formatBytes(partition.bytes)} at byte ${partition.startByte} (type 0x${partition.type.toString(16).padStart(2, '0').toUpperCase()})${volumeText}`,
    );
  }
  if (card.alpineRelease !== null) {
    const extra = [card.arch, card.branch].filter((part) => part !== null).map((part) => displayText(part));
    row('Alpine', `${displayText(card.alpineRelease)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`);
  }
  if (card.apkovl !== null) {
    const apkovl = card.apkovl;
    const parts = [
      apkovl.hostname === null ? null : `host ${displayText(apkovl.hostname)}`,
      apkovl.members === null ? null : `${apkovl.members} members`,
      formatBytes(apkovl.bytes),
      `saved ${apkovl.modified.slice(0, 10)} ${apkovl.modified.slice(11, 16)} UTC`,
    ].filter((part) => part !== null);
    row('apkovl', `${displayText(apkovl.name)}: ${parts.join(', ')}`);
  }
  if (card.manifest !== null) {
    const manifest = card.manifest;
    const definition = manifest.definition === null ? '' : `, definition ${displayText(manifest.definition.file)}`;
    row(
      'written',
      `by ${displayText(manifest.tool.name)} ${displayText(manifest.tool.version)} from ${displayText(manifest.bootMedia.file)}${definition}`,
    );
  } else if (card.partition !== null) {
    row('written', 'unknown: no manifest');
  }
  if (card.freeBytes !== null) row('free', formatBytes(card.freeBytes));
  return lines;
}

function problemLines(problem: VerifyProblem, medium: string): string[] {
  const lines = [`           ${SEVERITY[problem.severity]}: ${problem.message}`];
  const ranges = problem.ranges.slice(0, MAX_RANGES).map(showRange);
  const more = problem.ranges.length - MAX_RANGES;
  if (more > 0) ranges.push(`${more} more range${more === 1 ? '' : 's'}`);
  if (ranges.length > 0) lines.push(`             at ${ranges.join(', ')} of ${displayText(medium)}`);
  return lines;
}

function checkLines(check: VerifyCheck, medium: string): string[] {
  const lines = [`  ${STATUS[check.status].padEnd(8)} ${check.title.padEnd(34)} ${check.summary}`];
  if (check.status === 'ok' || check.status === 'skipped') return lines;
  for (const problem of check.problems) lines.push(...problemLines(problem, medium));
  for (const detail of check.details) lines.push(`           ${detail}`);
  return lines;
}

export function describeVerifyReport(report: VerifyReport): string {
  const medium = report.card.medium.path;
  const lines = [`${displayText(medium)}: ${report.verdict.toUpperCase()}`, report.headline, '', ...facts(report), ''];
  lines.push('Checks', ...report.checks.flatMap((check) => checkLines(check, medium)));
  const changes = [...new Set(report.checks.flatMap((check) => check.changes.map((each) => each.message)))];
  if (changes.length > 0) lines.push('', 'Changed since it was written', ...changes.map((text) => `  - ${text}`));
  const definition = report.checks.find((check) => check.id === 'definition');
  if (definition?.status === 'ok' && report.definition !== null && definition.details.length > 0) {
    lines.push('', `Against ${displayText(report.definition.file)}`, ...definition.details.map((text) => `  ${text}`));
  }
  if (report.firstBoot !== null) {
    const when = report.firstBoot.reportedAt === null ? '' : ` (reported ${report.firstBoot.reportedAt})`;
    lines.push('', `First boot${when}`, ...report.firstBoot.lines.map((text) => `  ${text}`));
  }
  if (report.todo.length > 0) lines.push('', 'What to do', ...report.todo.map((text) => `  - ${text}`));
  return `${lines.join('\n')}\n`;
}
