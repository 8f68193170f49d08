import type { VerifyReport } from '../../shared/model/verify-report.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayText } from '../../shared/rules/display.js';

const verdictText: Record<VerifyReport['verdict'], string> = {
  good: 'Good',
  changed: 'Good, changed since written',
  damaged: 'Damaged',
  faulty: 'Will not work as intended',
};
const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const statusText = { ok: 'OK', warning: 'Warning', failed: 'Failed', skipped: 'Skipped' } as const;

/** Everything `apkovl verify` found: the verdict, each check, the apkovl, the definition's differences, the first boot. */
export function VerifyReportView({ report }: { report: VerifyReport }) {
  const { card } = report;
  return (
    <section className="report" aria-label="Verification report">
      <div className={`verdict ${report.verdict}`} role="status">
        <strong>{verdictText[report.verdict]}</strong>
        <span>{displayText(report.headline)}</span>
      </div>
      {report.todo.length > 0 ? (
        <>
          <h3>What to do</h3>
          <ul>
            {report.todo.map((todo) => (
              <li key={todo}>{capitalised(displayText(todo))}</li>
            ))}
          </ul>
        </>
      ) : null}
      <h3>Checks</h3>
      <ul className="checks">
        {report.checks.map((check) => (
          <li key={check.id} className={`check ${check.status}`}>
            <div className="check-title">
              <span className={`badge ${check.status}`}>{statusText[check.status]}</span>{' '}
              <strong>{displayText(check.title)}</strong>: {displayText(check.summary)}
            </div>
            {check.details.length > 0 ? (
              <ul className="details">
                {check.details.map((detail) => (
                  <li key={detail}>{displayText(detail)}</li>
                ))}
              </ul>
            ) : null}
            {check.problems.map((problem) => (
              <div key={problem.message} className={`problem ${problem.severity}`}>
                <p>{displayText(problem.message)}</p>
                {problem.paths.length > 0 ? (
                  <p className="muted">
                    Files: {problem.paths.slice(0, 8).map(displayText).join(', ')}
                    {problem.paths.length > 8 ? `, and ${problem.paths.length - 8} more` : ''}
                  </p>
                ) : null}
                {problem.hint ? <p>What to do: {displayText(problem.hint)}</p> : null}
              </div>
            ))}
            {check.changes.map((change) => (
              <p key={change.message} className="muted">
                Changed: {displayText(change.message)}
              </p>
            ))}
          </li>
        ))}
      </ul>
      <h3>The apkovl</h3>
      {card.apkovl ? (
        <dl className="facts">
          <div>
            <dt>File</dt>
            <dd>{displayText(card.apkovl.name)}</dd>
          </div>
          <div>
            <dt>Host name</dt>
            <dd>{card.apkovl.hostname !== null ? displayText(card.apkovl.hostname) : 'unknown'}</dd>
          </div>
          <div>
            <dt>Content</dt>
            <dd>
              {card.apkovl.members !== null ? `${card.apkovl.members} files and folders` : 'could not be read'},{' '}
              {formatBytes(card.apkovl.bytes)}
            </dd>
          </div>
          <div>
            <dt>Alpine</dt>
            <dd>{card.alpineRelease !== null ? displayText(card.alpineRelease) : 'unknown'}</dd>
          </div>
        </dl>
      ) : (
        <p className="muted">No apkovl was found on the card.</p>
      )}
      {report.definition !== null ? (
        <>
          <h3 className="plain">Compared with {displayText(report.definition.file)}</h3>
          {report.definition.identical ? (
            <p>The apkovl is exactly what this definition makes.</p>
          ) : (
            <table className="differences">
              <caption className="visually-hidden">Differences from the definition</caption>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Difference</th>
                </tr>
              </thead>
              <tbody>
                {report.definition.differences.map((difference) => (
                  <tr key={`${difference.path}-${difference.how}`}>
                    <td>
                      <code>{displayText(difference.path)}</code>
                    </td>
                    <td>
                      {difference.how}: {displayText(difference.detail)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : null}
      <h3>First boot</h3>
      {report.firstBoot !== null ? (
        <div className="first-boot">
          {report.firstBoot.reportedAt ? (
            <p className="muted">Reported {displayText(report.firstBoot.reportedAt)}</p>
          ) : null}
          <ul>
            {report.firstBoot.lines.map((line) => (
              <li key={line}>{displayText(line)}</li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted">The card has not reported a boot yet.</p>
      )}
    </section>
  );
}
