import { useEffect, useState } from 'react';
import type { Client } from '../shared/ipc/client.js';
import { BuildScreen } from './screens/BuildScreen.js';

export function App({ client }: { client: Client }) {
  const [version, setVersion] = useState<string | null>(null);
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
        <span className="muted">{version === null ? '' : `version ${version}`}</span>
      </header>
      <main>
        <BuildScreen client={client} />
      </main>
    </div>
  );
}
