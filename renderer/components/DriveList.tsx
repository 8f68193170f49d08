import { useEffect, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { ClassifiedDrive } from '../../shared/model/drive.js';
import { formatBytes } from '../../shared/model/size.js';
import { driveText } from '../../shared/rules/drive-safety.js';
import { selectable } from '../wizard.js';

/** The drives as listed now, asked again every two seconds while shown (cards come and go). */
export function useDrives(client: Client, loopDevices: boolean) {
  const [drives, setDrives] = useState<ClassifiedDrive[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      client.invoke('drives.list', { loopDevices }).then(
        ({ drives: found }) => {
          if (!live) return;
          setDrives(found);
          setFailure(null);
          timer = setTimeout(poll, 2000);
        },
        (error: unknown) => {
          if (!live) return;
          setFailure(error);
          timer = setTimeout(poll, 2000);
        },
      );
    };
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, loopDevices]);
  return { drives, failure };
}

const statusText: Record<ClassifiedDrive['status'], string> = {
  ok: 'Can be chosen',
  warning: 'Needs an extra confirmation',
  refused: 'Cannot be chosen',
  hidden: 'Cannot be chosen',
};

/** A reason ("holds the running system") as a sentence of its own. */
export function sentence(message: string): string {
  const text = `It ${message}`;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Drives as radio buttons: unsafe ones disabled with their reasons; nothing chosen until the user chooses. */
export function DriveList({
  drives,
  selected,
  onSelect,
  legend,
}: {
  drives: ClassifiedDrive[];
  selected: string | null;
  onSelect: (drive: ClassifiedDrive) => void;
  legend: string;
}) {
  if (drives.length === 0) {
    return (
      <p className="muted" role="status">
        No drives found. Insert an SD card or a USB stick; it appears here by itself.
      </p>
    );
  }
  return (
    <fieldset className="drive-list">
      <legend>{legend}</legend>
      {drives.map((drive) => {
        const id = `drive-${drive.device.replace(/[^A-Za-z0-9]/g, '-')}`;
        const enabled = selectable(drive);
        const reasons = drive.reasons.filter((reason) => reason.effect !== 'note' || !enabled);
        return (
          <label key={drive.device} className={`drive${enabled ? '' : ' disabled'}`} htmlFor={id}>
            <input
              type="radio"
              name="drive"
              id={id}
              value={drive.device}
              disabled={!enabled}
              checked={selected === drive.device}
              aria-describedby={`${id}-status`}
              onChange={() => onSelect(drive)}
            />
            <span className="drive-text">
              <strong>{driveText(drive.description) || 'Unnamed drive'}</strong>{' '}
              <span className="muted">
                {driveText(drive.device)} · {formatBytes(drive.size)} · {driveText(drive.bus, 16)}
                {drive.backingFile ? ` · file ${driveText(drive.backingFile)}` : ''}
              </span>
              <span id={`${id}-status`} className={`drive-status ${drive.status}`}>
                {statusText[drive.status]}
                {reasons.length > 0 ? ':' : ''}
                {reasons.length > 0 ? (
                  <ul>
                    {reasons.map((reason) => (
                      <li key={reason.code}>{sentence(reason.message)}</li>
                    ))}
                  </ul>
                ) : null}
              </span>
            </span>
          </label>
        );
      })}
    </fieldset>
  );
}
