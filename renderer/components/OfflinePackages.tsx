import { useEffect, useRef, useState } from 'react';
import { IpcError, type Client } from '../../shared/ipc/client.js';
import type { PackagesSummary } from '../../shared/model/requests.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayText } from '../../shared/rules/display.js';
import { ErrorPanel } from './ErrorPanel.js';
import { ProgressBar } from './ProgressBar.js';
import { newJobId } from '../wizard.js';

/** The resolver names the world; in the definition, that is alpine.packages and what the services need. */
function atField(error: unknown): unknown {
  if (!(error instanceof IpcError) || error.location !== 'world') return error;
  return new IpcError(
    error.code,
    error.message,
    'alpine.packages (with alpine-base and the packages the machine’s services need)',
    error.hint,
  );
}

/** "12 packages, 34.5 MiB": the count and size of an offline machine's packages. */
export function packagesText(count: NonNullable<PackagesSummary['count']>): string {
  return `${count.resolved} package${count.resolved === 1 ? '' : 's'}, ${formatBytes(count.packageBytes)}`;
}

/**
 * alpine.offline: the machine's packages resolved against the signed indexes of its
 * repositories (downloaded with progress), shown with their count and size before anything is
 * written; a missing package or a conflict is shown with what to change.
 */
export function OfflinePackages({
  client,
  definition,
  secretsFile,
}: {
  client: Client;
  definition: string;
  secretsFile: string | null;
}) {
  const [summary, setSummary] = useState<PackagesSummary | null>(null);
  const [progress, setProgress] = useState<ProgressEvent | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const job = useRef<string | null>(null);
  const [keys, setKeys] = useState<string[]>([]);
  const [keyFailure, setKeyFailure] = useState<unknown>(null);

  useEffect(() => {
    client.invoke('settings.get', {}).then(
      (settings) => setKeys(settings.apkKeys),
      () => setKeys([]),
    );
  }, [client]);

  /** Trust these keys from now on (kept by the app), and resolve again with them. */
  async function trust(next: string[]): Promise<void> {
    setKeyFailure(null);
    try {
      setKeys((await client.invoke('settings.set', { apkKeys: next })).apkKeys);
      setAttempt((value) => value + 1);
    } catch (error) {
      setKeyFailure(error);
    }
  }

  async function chooseKey(): Promise<void> {
    const chosen = await client.invoke('dialog.open-file', {
      title: 'A package repository’s signing key',
      filters: [{ name: 'apk signing keys (.rsa.pub, .pem)', extensions: ['pub', 'pem'] }],
    });
    if (chosen.path !== null) await trust([...keys, chosen.path]);
  }

  useEffect(
    () =>
      client.on('job.progress', ({ jobId, progress: event }) => {
        if (jobId === job.current) setProgress(event);
      }),
    [client],
  );

  useEffect(() => {
    let live = true;
    const jobId = newJobId('packages');
    job.current = jobId;
    setRunning(true);
    setFailure(null);
    setSummary(null);
    setProgress(null);
    client
      .invoke('packages.resolve', {
        jobId,
        request: { definition: { file: definition, ...(secretsFile !== null ? { secretsFile } : {}) } },
      })
      .then(
        (found) => {
          if (live) setSummary(found);
        },
        (error: unknown) => {
          if (live && !(error instanceof IpcError && error.code === 'cancelled')) setFailure(atField(error));
        },
      )
      .finally(() => {
        if (job.current === jobId) job.current = null;
        if (live) setRunning(false);
      });
    return () => {
      live = false;
      if (job.current === jobId) void client.invoke('job.cancel', { jobId }).catch(() => undefined);
    };
  }, [client, definition, secretsFile, attempt]);

  const count = summary?.count ?? null;
  return (
    <section className="offline-packages" aria-labelledby="offline-heading">
      <h3 id="offline-heading">Offline first boot</h3>
      <div className="packages-status" role="status" aria-live="polite">
        {running ? (
          progress !== null ? (
            <ProgressBar progress={progress} label="Package indexes" />
          ) : (
            <p className="muted">Resolving the machine’s packages against the signed package indexes…</p>
          )
        ) : count !== null ? (
          <p>
            <span className="badge ok">{packagesText(count)}</span> go on the card with their signed indexes (
            {count.repositories.join(', ')} of {count.branch}), so the machine boots complete without network. Those
            already on the boot media are not copied again.
          </p>
        ) : summary !== null ? (
          <p className="muted">alpine.offline is off: the machine installs its packages from the mirror at boot.</p>
        ) : null}
      </div>
      {failure !== null ? <ErrorPanel error={failure} title="The machine’s packages cannot be resolved" /> : null}
      <div className="apk-keys">
        <p className="help" id="apk-keys-help">
          Package signatures are checked against Alpine’s keys
          {keys.length > 0 ? ' and these, kept by the app for every card:' : '.'}
        </p>
        {keys.length > 0 ? (
          <ul aria-label="Trusted package keys">
            {keys.map((key) => (
              <li key={key}>
                <code>{displayText(key.split(/[\\/]/).pop() ?? key)}</code>{' '}
                <button
                  type="button"
                  className="link"
                  onClick={() => void trust(keys.filter((other) => other !== key))}
                >
                  Stop trusting
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {keyFailure !== null ? <ErrorPanel error={keyFailure} title="The key was not added" /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={() => void chooseKey()} aria-describedby="apk-keys-help">
            Trust another package-repository key…
          </button>
          {failure !== null ? (
            <button type="button" className="secondary" onClick={() => setAttempt((value) => value + 1)}>
              Try again
            </button>
          ) : null}
        </div>
      </div>
    </section>
  );
}
