import type { AppInfo } from '../App.js';

/** How writing a drive gets its rights, said before the user commits to it. */
export function DeviceAccess({ info }: { info: AppInfo }) {
  const { mode, detail } = info.deviceAccess;
  const text =
    mode === 'privileged'
      ? 'This app may write drives already; no password is asked.'
      : mode === 'prompt'
        ? 'You will be asked for an administrator password before the drive is written; only the small writer gets those rights, not this window.'
        : 'Drives cannot be written from here.';
  return (
    <div className={`note access-${mode}`} role="note" aria-label="Device access">
      <p>{text}</p>
      {detail ? <p className="muted">{detail}</p> : null}
    </div>
  );
}
