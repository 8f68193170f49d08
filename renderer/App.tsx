import { useEffect, useState } from 'react';
import type { Client } from '../shared/ipc/client.js';
import { BuildScreen } from './screens/BuildScreen.js';
import { MachineScreen } from './screens/MachineScreen.js';

type Tab = 'machine' | 'build';

export function App({ client }: { client: Client }) {
  const [version, setVersion] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('build');
  const [definition, setDefinition] = useState<{ machine: string; secrets: string | null } | null>(null);
  useEffect(() => {
    client.invoke('app.info', {}).then(
      (info) => setVersion(info.version),
      () => setVersion(null),
    );
  }, [client]);
  return (
    <div className="app">
      <header className="app-header">
        <h1>Apkovl Studio</h1>
        <nav role="tablist" aria-label="Screens">
          {(
            [
              ['machine', 'Machine'],
              ['build', 'Build card'],
            ] as const
          ).map(([id, label]) => (
            <button
              key={id}
              type="button"
              role="tab"
              aria-selected={tab === id}
              className={tab === id ? 'tab active' : 'tab'}
              onClick={() => setTab(id)}
            >
              {label}
            </button>
          ))}
        </nav>
        <span className="muted">{version === null ? '' : `version ${version}`}</span>
      </header>
      <main>
        {/* Both stay mounted, so switching tabs keeps what was typed and a build in progress. */}
        <div hidden={tab !== 'machine'}>
          <MachineScreen
            client={client}
            onSaved={(machine, secrets) => {
              setDefinition({ machine, secrets });
              setTab('build');
            }}
          />
        </div>
        <div hidden={tab !== 'build'}>
          <BuildScreen client={client} definition={definition} />
        </div>
      </main>
    </div>
  );
}
