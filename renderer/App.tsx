import { useEffect, useRef, useState } from 'react';
import type { Client } from '../shared/ipc/client.js';
import type { BuildSummary } from '../shared/model/build-image.js';
import type { CommandOutput } from '../shared/ipc/contract.js';
import { definitionTarget, type DefinitionDraft } from './machine-form.js';
import type { Confirmation, MediaChoice, Screen, TargetChoice } from './wizard.js';
import { HomeScreen } from './screens/HomeScreen.js';
import { MachineScreen } from './screens/MachineScreen.js';
import { AlpineScreen } from './screens/AlpineScreen.js';
import { TargetScreen } from './screens/TargetScreen.js';
import { ConfirmScreen } from './screens/ConfirmScreen.js';
import { WriteScreen, type WriteOutcome } from './screens/WriteScreen.js';
import { ResultScreen } from './screens/ResultScreen.js';
import { VerifyScreen } from './screens/VerifyScreen.js';

export type AppInfo = CommandOutput<'app.info'>;

const steps: [Screen, string][] = [
  ['machine', 'Machine'],
  ['alpine', 'Alpine'],
  ['target', 'Target'],
  ['confirm', 'Confirm'],
  ['write', 'Write'],
  ['result', 'Result'],
];

export function App({ client }: { client: Client }) {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [screen, setScreen] = useState<Screen>('home');
  const [draft, setDraft] = useState<DefinitionDraft | null>(null);
  const [media, setMedia] = useState<MediaChoice | null>(null);
  const [target, setTarget] = useState<TargetChoice | null>(null);
  const [confirmation, setConfirmation] = useState<Confirmation | null>(null);
  const [outcome, setOutcome] = useState<WriteOutcome | null>(null);
  useEffect(() => {
    client.invoke('app.info', {}).then(setInfo, () => setInfo(null));
  }, [client]);
  // Each screen starts at its heading, for the keyboard and for screen readers.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('[data-screen-heading]')?.focus();
  }, [screen]);

  const go = (next: Screen) => setScreen(next);
  const inFlow = steps.some(([id]) => id === screen);
  const current = steps.findIndex(([id]) => id === screen);

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <h1>Apkovl Studio</h1>
          <span className="muted">{info === null ? '' : `version ${info.version}`}</span>
        </div>
        {screen !== 'home' && screen !== 'write' ? (
          <button type="button" className="secondary" onClick={() => go('home')}>
            Home
          </button>
        ) : null}
      </header>
      {inFlow ? (
        <nav aria-label="Steps" className="steps">
          <ol>
            {steps.map(([id, label], index) => (
              <li
                key={id}
                aria-current={id === screen ? 'step' : undefined}
                className={index < current ? 'done' : id === screen ? 'current' : ''}
              >
                {label}
              </li>
            ))}
          </ol>
        </nav>
      ) : null}
      <main>
        {screen === 'home' ? (
          <HomeScreen
            client={client}
            onCreate={() => go('machine')}
            onVerify={() => go('verify')}
            onOpened={(opened) => {
              setDraft(opened);
              go('machine');
            }}
          />
        ) : null}
        {screen === 'machine' ? (
          <MachineScreen
            client={client}
            draft={draft}
            onChange={setDraft}
            onNext={(saved) => {
              setDraft(saved);
              setMedia(null);
              go('alpine');
            }}
          />
        ) : null}
        {screen === 'alpine' && draft !== null ? (
          <AlpineScreen
            client={client}
            draft={draft}
            media={media}
            onBack={() => go('machine')}
            onNext={(chosen) => {
              setMedia(chosen);
              setTarget(null);
              go('target');
            }}
          />
        ) : null}
        {screen === 'target' && info !== null ? (
          <TargetScreen
            client={client}
            info={info}
            imageName={`${(draft ? definitionTarget(draft.yaml).hostname : '') || 'card'}.img`}
            onBack={() => go('alpine')}
            onNext={(chosen) => {
              setTarget(chosen);
              setConfirmation(null);
              go(chosen.kind === 'image' ? 'write' : 'confirm');
            }}
          />
        ) : null}
        {screen === 'confirm' && target?.kind === 'device' && info !== null ? (
          <ConfirmScreen
            client={client}
            info={info}
            drive={target.drive}
            board={draft ? definitionTarget(draft.yaml).board : null}
            onBack={() => go('target')}
            onConfirm={(confirmed) => {
              setConfirmation(confirmed);
              go('write');
            }}
          />
        ) : null}
        {screen === 'write' && draft !== null && media !== null && target !== null ? (
          <WriteScreen
            client={client}
            draft={draft}
            media={media}
            target={target}
            confirmation={confirmation}
            onFetched={setMedia}
            onDone={(result) => {
              setOutcome(result);
              go('result');
            }}
          />
        ) : null}
        {screen === 'result' && outcome !== null && draft !== null && target !== null ? (
          <ResultScreen
            client={client}
            outcome={outcome}
            draft={draft}
            target={target}
            onAgain={() => go('target')}
            onVerify={() => go('verify')}
            onMedia={() => go('alpine')}
          />
        ) : null}
        {screen === 'verify' ? <VerifyScreen client={client} definition={draft} /> : null}
      </main>
    </div>
  );
}

export type { BuildSummary };
