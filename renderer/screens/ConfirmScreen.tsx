import { useEffect, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import type { ClassifiedDrive } from '../../shared/model/drive.js';
import { formatBytes } from '../../shared/model/size.js';
import { driveText } from '../../shared/rules/drive-safety.js';
import type { AppInfo } from '../App.js';
import { DeviceAccess } from '../components/DeviceAccess.js';
import { sentence } from '../components/DriveList.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { selectable, type Confirmation } from '../wizard.js';
import type { Board } from '../../shared/model/targets.js';

/** What a card for the board boots, in a user's words. */
export function bootsWith(board: Board): string {
  if (board === 'x86_64') return 'PCs with BIOS (legacy) or UEFI (the ISO in partition 1, FAT32 beside it)';
  if (board === 'x86_64-uefi') return 'PCs with UEFI only, Secure Boot off (one FAT32 partition)';
  return 'a Raspberry Pi (one FAT32 partition)';
}

type Described = CommandOutput<'drive.describe'>;

/** What will be erased, as the drive is now; a drive over 128 GB needs its name typed. */
export function ConfirmScreen({
  client,
  info,
  drive: chosen,
  board = null,
  onBack,
  onConfirm,
}: {
  client: Client;
  info: AppInfo;
  drive: ClassifiedDrive;
  /** The machine's board: what the card will boot, said before it is written. */
  board?: Board | null;
  onBack: () => void;
  onConfirm: (confirmation: Confirmation) => void;
}) {
  const [described, setDescribed] = useState<Described | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    client.invoke('drive.describe', { device: chosen.device }).then(setDescribed, setFailure);
  }, [client, chosen.device]);
  const drive = described?.drive ?? null;
  const name = driveText(chosen.device.split('/').pop() ?? chosen.device);
  const needsTyping = drive?.status === 'warning';
  const typedRight = typed.trim() === name;
  const writable = drive !== null && selectable(drive) && info.deviceAccess.mode !== 'unavailable';

  return (
    <div className="screen">
      <section className="card" aria-labelledby="confirm-heading">
        <ScreenHeading step="Step 4 of 6">Erase this drive?</ScreenHeading>
        {failure !== null ? <ErrorPanel error={failure} title="The drive could not be examined" /> : null}
        {described === null && failure === null ? <p className="muted">Looking at the drive…</p> : null}
        {drive !== null && described !== null ? (
          <>
            <p className="erase-warning">
              <strong>Everything on this drive will be erased.</strong>
            </p>
            <dl className="facts">
              <div>
                <dt>Drive</dt>
                <dd>{driveText(drive.description || described.identity.model) || 'Unnamed drive'}</dd>
              </div>
              <div>
                <dt>Device</dt>
                <dd>
                  <code>{driveText(drive.device)}</code> ({driveText(drive.bus, 16)}
                  {drive.removable ? ', removable' : ''})
                </dd>
              </div>
              {board !== null ? (
                <div>
                  <dt>Boots</dt>
                  <dd>{bootsWith(board)}</dd>
                </div>
              ) : null}
              <div>
                <dt>Size</dt>
                <dd>
                  {formatBytes(drive.size)} ({drive.size.toLocaleString('en')} bytes)
                </dd>
              </div>
              {described.identity.serial ? (
                <div>
                  <dt>{drive.kind === 'loop' ? 'Backing file' : 'Serial'}</dt>
                  <dd>{driveText(described.identity.serial)}</dd>
                </div>
              ) : null}
            </dl>
            <h3>Now on it</h3>
            {drive.partitions.length === 0 ? (
              <p className="muted">No partitions or file systems were found.</p>
            ) : (
              <table className="partitions">
                <caption className="visually-hidden">Partitions that will be erased</caption>
                <thead>
                  <tr>
                    <th scope="col">Partition</th>
                    <th scope="col">Label</th>
                    <th scope="col">File system</th>
                    <th scope="col">Size</th>
                    <th scope="col">Mounted at</th>
                  </tr>
                </thead>
                <tbody>
                  {drive.partitions.map((partition) => (
                    <tr key={partition.device}>
                      <td>
                        <code>{driveText(partition.device)}</code>
                      </td>
                      <td>{partition.label !== null ? driveText(partition.label) : '—'}</td>
                      <td>{partition.filesystem !== null ? driveText(partition.filesystem) : 'unknown'}</td>
                      <td>{formatBytes(partition.size)}</td>
                      <td>{partition.mountpoints.map((mount) => driveText(mount)).join(', ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {drive.reasons.length > 0 ? (
              <ul className="reasons">
                {drive.reasons.map((reason) => (
                  <li key={reason.code} className={reason.effect === 'note' ? 'muted' : 'warning'}>
                    {sentence(reason.message)}
                  </li>
                ))}
              </ul>
            ) : null}
            {!selectable(drive) ? (
              <p className="error-text" role="alert">
                This drive cannot be written now. Go back and choose another.
              </p>
            ) : null}
            {needsTyping ? (
              <div className="field">
                <label htmlFor="confirm-name">
                  This drive is larger than 128 GB: rarely a card. Type its name, <code>{name}</code>, to confirm
                </label>
                <input
                  id="confirm-name"
                  type="text"
                  autoComplete="off"
                  spellCheck={false}
                  value={typed}
                  aria-invalid={typed !== '' && !typedRight ? true : undefined}
                  aria-describedby="confirm-name-help"
                  onChange={(event) => setTyped(event.target.value)}
                />
                <p id="confirm-name-help" className={typed !== '' && !typedRight ? 'error-text' : 'help'}>
                  {typed !== '' && !typedRight ? `That is not ${name}.` : 'Check that it really is the card.'}
                </p>
              </div>
            ) : null}
          </>
        ) : null}
        <DeviceAccess info={info} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onBack}>
            Back
          </button>
          <button
            type="button"
            className="danger"
            disabled={!writable || (needsTyping && !typedRight)}
            onClick={() =>
              described !== null && onConfirm({ identity: described.identity, largeDriveConfirmed: needsTyping })
            }
          >
            Erase and write
          </button>
        </div>
      </section>
    </div>
  );
}
