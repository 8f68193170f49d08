import { FIRST_BOOT_REPORT_FILE, parseFirstBootReport } from '../../../shared/model/first-boot-report.js';
import { describeFirstBootReport } from '../../../shared/model/first-boot-summary.js';
import type { VerifyCheck, VerifyProblem, VerifyReport } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import type { CardReader } from './card-reader.js';
import { change, count, makeCheck, problem, showList } from './checks.js';

const TITLE = 'First-boot report';
const MAX_REPORT_BYTES = 1 << 20;

/**
 * The report the machine writes to the card at every boot (apkovl-report.json): not in the
 * manifest, since it is written after the card, and expected. Shown in a few lines; what it says
 * went wrong on the machine is a warning about the machine, not about the card.
 */
export async function checkFirstBoot(
  card: CardReader,
): Promise<{ check: VerifyCheck; firstBoot: VerifyReport['firstBoot'] }> {
  const file = card.find(FIRST_BOOT_REPORT_FILE);
  if (file === null || file.isDirectory) {
    return {
      check: makeCheck('first-boot', TITLE, {
        summary: 'none yet: the machine has not booted from this card, or its report is off',
        skipped: true,
      }),
      firstBoot: null,
    };
  }
  const unreadable = (message: string) => ({
    check: makeCheck('first-boot', TITLE, {
      summary: 'present but unreadable',
      problems: [
        problem('warning', `${FIRST_BOOT_REPORT_FILE} cannot be read: ${message}`, {
          paths: [file.path],
          ranges: card.ranges(file),
          hint: 'the machine writes it again at its next boot',
        }),
      ],
      changes: [change('the machine wrote a first-boot report', [file.path])],
    }),
    firstBoot: null,
  });
  let text: string;
  try {
    const data = await card.readSmall(file, MAX_REPORT_BYTES);
    if (data === null) return unreadable(`it is ${file.size} bytes, more than a report can be`);
    text = data.toString('utf8');
  } catch (error) {
    return unreadable((error as Error).message);
  }
  let report;
  try {
    report = parseFirstBootReport(text, file.path);
  } catch (error) {
    return unreadable((error as Error).message);
  }
  const problems: VerifyProblem[] = [];
  const missing = report.packages.filter((entry) => entry.installed === false).map((entry) => displayText(entry.name));
  if (missing.length > 0) {
    problems.push(
      problem('warning', `the machine reported ${count(missing.length, 'package')} missing: ${showList(missing)}`, {
        hint: 'packages not on the boot media are installed over the network: check that the machine reaches its mirror',
      }),
    );
  }
  const troubled = report.services
    .filter((service) => service.state !== 'started')
    .map((service) => displayText(service.name));
  if (troubled.length > 0) {
    problems.push(
      problem(
        'warning',
        `the machine reported ${count(troubled.length, 'service')} not running: ${showList(troubled)}`,
        {
          hint: "look at the machine's log (/var/log/messages) for why",
        },
      ),
    );
  }
  const at = report.reported_at ?? null;
  return {
    check: makeCheck('first-boot', TITLE, {
      summary: `written by the machine${at === null ? '' : ` on ${at.slice(0, 10)} ${at.slice(11, 16)} UTC`}`,
      problems,
      changes: [change('the machine wrote its first-boot report', [file.path])],
    }),
    firstBoot: { reportedAt: at, lines: describeFirstBootReport(report) },
  };
}
