import { useEffect, useRef, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import type { Architecture } from '../../shared/model/targets.js';
import { newJobId } from '../wizard.js';
import { ErrorPanel } from './ErrorPanel.js';

type Availability = CommandOutput<'machine.try-check'>;

/**
 * "Try in QEMU": boots the image just made (snapshot mode: it is not changed) or netboots the
 * saved definition, in a QEMU window, when QEMU is here; otherwise says what to install.
 */
export function TryInQemu({
  client,
  target,
  arch,
}: {
  client: Client;
  /** The image file, or the definition file to netboot. */
  target: { kind: 'image' | 'definition'; path: string };
  arch: Architecture;
}) {
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [state, setState] = useState<'idle' | 'running' | 'ended'>('idle');
  const [notes, setNotes] = useState<string[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const job = useRef<string | null>(null);

  useEffect(() => {
    client.invoke('machine.try-check', { kind: target.kind, arch }).then(setAvailability, setFailure);
  }, [client, target.kind, arch]);
  useEffect(
    () =>
      client.on('job.note', ({ jobId, text }) => {
        if (jobId === job.current) setNotes((before) => [...before.slice(-3), text]);
      }),
    [client],
  );

  const start = () => {
    const jobId = newJobId('try');
    job.current = jobId;
    setNotes([]);
    setFailure(null);
    setState('running');
    client.invoke('machine.try', { jobId, request: { target: target.path } }).then(
      () => setState('ended'),
      (error: unknown) => {
        setFailure(error);
        setState('ended');
      },
    );
  };
  const stop = () => {
    if (job.current !== null) void client.invoke('job.cancel', { jobId: job.current });
  };

  if (availability === null && failure === null) return null;
  return (
    <section className="try" aria-labelledby="try-heading">
      <h3 id="try-heading">Try it first</h3>
      {availability !== null && !availability.available ? (
        <p className="muted">Trying the machine in QEMU is not possible here: {availability.reason}</p>
      ) : null}
      {availability?.available ? (
        <>
          <p className="help">
            {target.kind === 'image'
              ? 'Boot the image in a QEMU window, as a USB stick (the image is not changed).'
              : 'Netboot the machine in a QEMU window from its definition: Alpine’s netboot files are downloaded and checked, and the apkovl is served to it.'}
            {availability.note !== null ? ` ${availability.note}` : ''}
          </p>
          <div className="actions">
            {state === 'running' ? (
              <button type="button" className="secondary" onClick={stop}>
                Stop the machine
              </button>
            ) : (
              <button type="button" className="secondary" onClick={start}>
                Try in QEMU
              </button>
            )}
          </div>
          {notes.length > 0 ? (
            <ul className="notes" aria-live="polite">
              {notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          ) : null}
          {state === 'ended' && failure === null ? <p className="muted">The machine was stopped.</p> : null}
        </>
      ) : null}
      {failure !== null ? <ErrorPanel error={failure} title="QEMU could not run the machine" /> : null}
    </section>
  );
}
