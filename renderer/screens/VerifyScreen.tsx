import { useEffect, useRef, useState } from 'react';
import { IpcError, type Client } from '../../shared/ipc/client.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import type { VerifyReport } from '../../shared/model/verify-report.js';
import { displayText } from '../../shared/rules/display.js';
import { DriveList, useDrives } from '../components/DriveList.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { VerifyReportView } from '../components/VerifyReportView.js';
import type { DefinitionDraft } from '../machine-form.js';
import { newJobId, selectable } from '../wizard.js';

/** Examine a card or an image: every check, the apkovl, the differences from a definition, the first boot. */
export function VerifyScreen({ client, definition }: { client: Client; definition: DefinitionDraft | null }) {
  const [kind, setKind] = useState<'device' | 'image'>('device');
  const [loopDevices, setLoopDevices] = useState(false);
  const { drives } = useDrives(client, loopDevices);
  const [device, setDevice] = useState<string | null>(null);
  const [image, setImage] = useState<string | null>(null);
  const [machine, setMachine] = useState<{ file: string; secretsFile: string | null } | null>(
    definition?.path ? { file: definition.path, secretsFile: definition.secretsPath } : null,
  );
  const [running, setRunning] = useState<{ jobId: string; progress: ProgressEvent | null } | null>(null);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const job = useRef<string | null>(null);
  useEffect(
    () =>
      client.on('job.progress', ({ jobId, progress }) => {
        if (jobId === job.current) setRunning((current) => (current ? { ...current, progress } : current));
      }),
    [client],
  );
  const drive = drives?.find((each) => each.device === device && selectable(each)) ?? null;
  const medium = kind === 'device' ? (drive ? drive.device : null) : image;

  async function pickImage(): Promise<void> {
    const chosen = await client.invoke('dialog.open-file', {
      title: 'Card image',
      filters: [{ name: 'Card image', extensions: ['img', 'bin', 'raw'] }],
    });
    if (chosen.path !== null) setImage(chosen.path);
  }
  async function pickDefinition(): Promise<void> {
    const chosen = await client.invoke('dialog.open-file', {
      title: 'Machine definition to compare with',
      filters: [{ name: 'Machine definition', extensions: ['yml', 'yaml'] }],
    });
    if (chosen.path === null) return;
    try {
      const read = await client.invoke('definition.read', { path: chosen.path });
      setMachine({ file: read.path, secretsFile: read.secretsPath });
    } catch (error) {
      setFailure(error);
    }
  }
  async function verify(): Promise<void> {
    if (medium === null) return;
    const jobId = newJobId('verify');
    job.current = jobId;
    setReport(null);
    setFailure(null);
    setRunning({ jobId, progress: null });
    try {
      setReport(
        await client.invoke('card.verify', {
          jobId,
          request: {
            medium: { kind, path: medium },
            ...(machine !== null
              ? {
                  machine: {
                    file: machine.file,
                    ...(machine.secretsFile !== null ? { secretsFile: machine.secretsFile } : {}),
                  },
                }
              : {}),
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof IpcError && error.code === 'cancelled')) setFailure(error);
    } finally {
      job.current = null;
      setRunning(null);
    }
  }

  return (
    <div className="screen">
      <section className="card" aria-labelledby="verify-heading">
        <ScreenHeading>Verify a card</ScreenHeading>
        <fieldset className="choice-row">
          <legend>What to check</legend>
          <label className="checkbox">
            <input type="radio" name="medium" checked={kind === 'device'} onChange={() => setKind('device')} /> A card
            or stick
          </label>
          <label className="checkbox">
            <input type="radio" name="medium" checked={kind === 'image'} onChange={() => setKind('image')} /> An image
            file
          </label>
        </fieldset>
        {kind === 'device' ? (
          <>
            <label className="checkbox">
              <input type="checkbox" checked={loopDevices} onChange={(event) => setLoopDevices(event.target.checked)} />{' '}
              Show loop devices
            </label>
            {drives === null ? (
              <p className="muted">Looking for drives…</p>
            ) : (
              <DriveList
                drives={drives}
                selected={drive?.device ?? null}
                onSelect={(chosen) => setDevice(chosen.device)}
                legend="Drives"
              />
            )}
          </>
        ) : (
          <div className="picked">
            <span>
              {image !== null ? <code>{displayText(image)}</code> : <span className="muted">No file chosen</span>}
            </span>
            <button type="button" className="secondary" onClick={() => void pickImage()}>
              Choose image…
            </button>
          </div>
        )}
        <h3>Compare with a definition (optional)</h3>
        <div className="picked">
          <span>
            {machine !== null ? <code>{displayText(machine.file)}</code> : <span className="muted">None</span>}
          </span>
          <button type="button" className="secondary" onClick={() => void pickDefinition()}>
            Choose definition…
          </button>
          {machine !== null ? (
            <button type="button" className="secondary" onClick={() => setMachine(null)}>
              Do not compare
            </button>
          ) : null}
        </div>
        {running !== null ? (
          <div aria-live="polite">
            {running.progress ? (
              <ProgressBar progress={running.progress} label="Verify" />
            ) : (
              <p className="muted">Reading…</p>
            )}
          </div>
        ) : null}
        <div className="actions">
          {running !== null ? (
            <button
              type="button"
              className="secondary"
              onClick={() => void client.invoke('job.cancel', { jobId: running.jobId })}
            >
              Cancel
            </button>
          ) : null}
          <button type="button" disabled={medium === null || running !== null} onClick={() => void verify()}>
            Verify
          </button>
        </div>
      </section>
      {failure !== null ? <ErrorPanel error={failure} title="The card could not be verified" /> : null}
      {report !== null ? <VerifyReportView report={report} /> : null}
    </div>
  );
}
