import { useEffect, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import { displayText } from '../../shared/rules/display.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import type { DefinitionDraft } from '../machine-form.js';

type Recent = CommandOutput<'recent.list'>['definitions'];

/** A definition file opened in the app: its secrets stay in their file (the app does not read them). */
export async function openDefinition(client: Client, path: string): Promise<DefinitionDraft> {
  const read = await client.invoke('definition.read', { path });
  return {
    yaml: read.yaml,
    secrets: {},
    secretsKnown: read.secretsPath === null,
    path: read.path,
    secretsPath: read.secretsPath,
    dirty: false,
  };
}

export function HomeScreen({
  client,
  onCreate,
  onVerify,
  onOpened,
}: {
  client: Client;
  onCreate: () => void;
  onVerify: () => void;
  onOpened: (draft: DefinitionDraft) => void;
}) {
  const [recent, setRecent] = useState<Recent | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  useEffect(() => {
    client.invoke('recent.list', {}).then(
      ({ definitions }) => setRecent(definitions),
      () => setRecent([]),
    );
  }, [client]);
  return (
    <div className="screen">
      <section className="card intro" aria-labelledby="home-heading">
        <ScreenHeading>What would you like to do?</ScreenHeading>
        <div className="choices">
          <button type="button" className="choice" onClick={onCreate}>
            <strong>Create a card</strong>
            <span>Describe a machine, pick Alpine, write an SD card, a USB stick or an image file.</span>
          </button>
          <button type="button" className="choice" onClick={onVerify}>
            <strong>Verify a card</strong>
            <span>Check a card or image: boot files, apkovl, and what the machine reported at first boot.</span>
          </button>
        </div>
      </section>
      <section className="card" aria-labelledby="recent-heading">
        <h3 id="recent-heading">Recent definitions</h3>
        {recent === null ? <p className="muted">Loading…</p> : null}
        {recent !== null && recent.length === 0 ? (
          <p className="muted">None yet. Definitions you open or save appear here.</p>
        ) : null}
        {recent !== null && recent.length > 0 ? (
          <ul className="recent">
            {recent.map((entry) => (
              <li key={entry.path}>
                <button
                  type="button"
                  className="link"
                  onClick={() => {
                    setFailure(null);
                    openDefinition(client, entry.path).then(onOpened, setFailure);
                  }}
                >
                  {entry.hostname ? displayText(entry.hostname) : 'Unnamed machine'}
                </button>{' '}
                <span className="muted">
                  {displayText(entry.path)} · {new Date(entry.usedAt).toLocaleString()}
                </span>
              </li>
            ))}
          </ul>
        ) : null}
        {failure !== null ? <ErrorPanel error={failure} title="The definition could not be opened" /> : null}
      </section>
    </div>
  );
}
