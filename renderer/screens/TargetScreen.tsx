import { useEffect, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { AppInfo } from '../App.js';
import { DeviceAccess } from '../components/DeviceAccess.js';
import { DriveList, useDrives } from '../components/DriveList.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { selectable, type TargetChoice } from '../wizard.js';

/** Where the card goes: a drive from the live list (never chosen for the user), or an image file. */
export function TargetScreen({
  client,
  info,
  imageName,
  onBack,
  onNext,
}: {
  client: Client;
  info: AppInfo;
  imageName: string;
  onBack: () => void;
  onNext: (target: TargetChoice) => void;
}) {
  const [loopDevices, setLoopDevices] = useState(false);
  const { drives, failure } = useDrives(client, loopDevices);
  const [selected, setSelected] = useState<string | null>(null);
  // A drive pulled out (or turned unsafe) is no longer chosen.
  const drive = drives?.find((each) => each.device === selected && selectable(each)) ?? null;
  useEffect(() => {
    if (selected !== null && drives !== null && drive === null) setSelected(null);
  }, [drives, drive, selected]);

  async function saveAsImage(): Promise<void> {
    const chosen = await client.invoke('dialog.save-file', { title: 'Save the card image as', defaultName: imageName });
    if (chosen.path !== null) onNext({ kind: 'image', path: chosen.path });
  }

  return (
    <div className="screen">
      <section className="card" aria-labelledby="target-heading">
        <ScreenHeading step="Step 3 of 6">Choose the card</ScreenHeading>
        <p className="muted">Insert the SD card or USB stick; the list follows what is plugged in.</p>
        <label className="checkbox">
          <input type="checkbox" checked={loopDevices} onChange={(event) => setLoopDevices(event.target.checked)} />{' '}
          Show loop devices (disk images attached as drives)
        </label>
        <div aria-live="polite">
          {drives === null ? (
            <p className="muted">Looking for drives…</p>
          ) : (
            <DriveList
              drives={drives}
              selected={drive?.device ?? null}
              onSelect={(chosen) => setSelected(chosen.device)}
              legend="Drives"
            />
          )}
        </div>
        {failure !== null ? <ErrorPanel error={failure} title="The drives could not be listed" /> : null}
        <DeviceAccess info={info} />
        <div className="actions">
          <button type="button" className="secondary" onClick={onBack}>
            Back
          </button>
          <button type="button" className="secondary" onClick={() => void saveAsImage()}>
            Save as image file…
          </button>
          <button
            type="button"
            disabled={drive === null || info.deviceAccess.mode === 'unavailable'}
            onClick={() => drive && onNext({ kind: 'device', drive })}
          >
            Next: Confirm
          </button>
        </div>
      </section>
    </div>
  );
}
