import { useEffect, useMemo, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import { parseSecrets } from '../../shared/model/machine-yaml.js';
import { boardArchitectures, boards } from '../../shared/model/targets.js';
import { displayText } from '../../shared/rules/display.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { Field, describedBy } from '../components/Field.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import {
  applyField,
  blankDefinition,
  checkDefinition,
  formFromYaml,
  type DefinitionDraft,
  type MachineField,
  type MachineFormState,
} from '../machine-form.js';
import { openDefinition } from './HomeScreen.js';

type Template = CommandOutput<'templates.list'>['templates'][number];
const templateLabels: Record<string, string> = {
  'rpi-kiosk': 'Pi kiosk',
  'rpi-headless': 'Pi headless',
  'x86-server': 'x86 server',
};

const blank: DefinitionDraft = {
  yaml: blankDefinition,
  secrets: {},
  secretsKnown: true,
  path: null,
  secretsPath: null,
  dirty: false,
};

/**
 * A machine definition: from a template, a file or a blank page; edited in a form (the common
 * settings) or as YAML (everything), both checked live by the schema the CLI uses; saved with
 * its secrets beside it before the card is made.
 */
export function MachineScreen({
  client,
  draft: given,
  onChange,
  onNext,
}: {
  client: Client;
  draft: DefinitionDraft | null;
  onChange: (draft: DefinitionDraft) => void;
  onNext: (draft: DefinitionDraft) => void;
}) {
  const draft = given ?? blank;
  const [templates, setTemplates] = useState<Template[]>([]);
  const [tab, setTab] = useState<'form' | 'yaml'>('form');
  const [touched, setTouched] = useState(given !== null);
  const [failure, setFailure] = useState<{ error: unknown; title: string } | null>(null);
  const [status, setStatus] = useState('');
  useEffect(() => {
    client.invoke('templates.list', {}).then(
      ({ templates: found }) => setTemplates(found),
      (error: unknown) => setFailure({ error, title: 'The templates could not be read' }),
    );
  }, [client]);
  const check = useMemo(() => checkDefinition(draft), [draft]);
  const form = useMemo(() => formFromYaml(draft.yaml, draft.secrets), [draft.yaml, draft.secrets]);

  const update = (next: Partial<DefinitionDraft>) => {
    onChange({ ...draft, ...next, dirty: true });
    setTouched(true);
    setStatus('');
  };
  const set =
    <K extends MachineField>(field: K) =>
    (value: MachineFormState[K]) =>
      update(applyField(draft, field, value));
  const issues = (field: MachineField) => (touched ? check.fields[field] : undefined);
  const disabled = form === null;
  const text = (field: MachineField, placeholder = '') => (
    <input
      id={field}
      type="text"
      spellCheck={false}
      placeholder={placeholder}
      disabled={disabled}
      value={form === null ? '' : String(form[field])}
      onChange={(event) => set(field)(event.target.value)}
      {...describedBy(field, issues(field))}
    />
  );
  const checkbox = (field: MachineField, label: string) => (
    <label className="checkbox">
      <input
        id={field}
        type="checkbox"
        disabled={disabled}
        checked={form !== null && Boolean(form[field])}
        onChange={(event) => set(field)(event.target.checked)}
      />{' '}
      {label}
    </label>
  );

  function applyTemplate(template: Template) {
    const secrets = template.secrets === null ? {} : parseSecrets(template.secrets).secrets;
    onChange({ yaml: template.definition, secrets, secretsKnown: true, path: null, secretsPath: null, dirty: true });
    setTouched(true);
    setStatus(`Started from the ${templateLabels[template.name] ?? template.name} template.`);
  }

  async function open(): Promise<void> {
    setFailure(null);
    const chosen = await client.invoke('dialog.open-file', {
      title: 'Open a machine definition',
      filters: [{ name: 'Machine definition', extensions: ['yml', 'yaml'] }],
    });
    if (chosen.path === null) return;
    try {
      onChange(await openDefinition(client, chosen.path));
      setTouched(true);
      setStatus(`Opened ${chosen.path}.`);
    } catch (error) {
      setFailure({ error, title: 'The definition could not be opened' });
    }
  }

  async function save(): Promise<DefinitionDraft | null> {
    setTouched(true);
    setFailure(null);
    if (!check.valid) {
      setStatus('Fix the problems marked below first.');
      return null;
    }
    const hostname = form?.hostname || 'machine';
    const target = await client.invoke('dialog.save-file', {
      title: 'Save the machine definition as',
      defaultName: `${hostname}.yml`,
    });
    if (target.path === null) return null;
    try {
      const result = await client.invoke('definition.save', {
        path: target.path,
        yaml: draft.yaml,
        secrets: draft.secretsKnown ? draft.secrets : {},
        // Opened with a secrets file the app does not read: the saved definition keeps its entries.
        ...(!draft.secretsKnown && draft.secretsPath !== null ? { keepSecretsFrom: draft.secretsPath } : {}),
      });
      const saved: DefinitionDraft = {
        ...draft,
        path: result.path,
        secretsPath: result.secretsPath,
        dirty: false,
      };
      onChange(saved);
      setStatus(`Saved ${result.path}${result.secretsPath ? ` and its secrets in ${result.secretsPath}` : ''}.`);
      return saved;
    } catch (error) {
      setFailure({ error, title: 'The definition was not saved' });
      return null;
    }
  }

  async function next(): Promise<void> {
    const ready = draft.path !== null && !draft.dirty && check.valid ? draft : await save();
    if (ready !== null) onNext(ready);
  }

  const archs = form ? boardArchitectures[form.board] : [];
  return (
    <div className="screen">
      <section className="card" aria-labelledby="machine-heading">
        <ScreenHeading step="Step 1 of 6">Describe the machine</ScreenHeading>
        <div className="toolbar" role="group" aria-label="Start from">
          <span className="muted">Start from a template:</span>
          {templates.map((template) => (
            <button
              key={template.name}
              type="button"
              className="secondary"
              title={template.description}
              onClick={() => applyTemplate(template)}
            >
              {templateLabels[template.name] ?? template.name}
            </button>
          ))}
          <button type="button" className="secondary" onClick={() => void open()}>
            Open .yml…
          </button>
        </div>
        <p className="muted file-line">
          {draft.path
            ? `File: ${displayText(draft.path)}${draft.dirty ? ' (changed, not saved)' : ''}`
            : 'Not saved yet'}
          {draft.secretsPath ? ` · secrets: ${displayText(draft.secretsPath)}` : ''}
        </p>
        <div role="tablist" aria-label="Edit as" className="tabs">
          {(
            [
              ['form', 'Form'],
              ['yaml', 'YAML'],
            ] as const
          ).map(([id, label]) => (
            <button
              key={id}
              id={`tab-${id}`}
              type="button"
              role="tab"
              aria-selected={tab === id}
              aria-controls={`panel-${id}`}
              tabIndex={tab === id ? 0 : -1}
              className={tab === id ? 'tab active' : 'tab'}
              onClick={() => setTab(id)}
              onKeyDown={(event) => {
                if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
                  const other = id === 'form' ? 'yaml' : 'form';
                  setTab(other);
                  document.getElementById(`tab-${other}`)?.focus();
                }
              }}
            >
              {label}
              {id === 'yaml' && touched && !check.valid && check.general.length > 0 ? ' (problems)' : ''}
            </button>
          ))}
        </div>
        {tab === 'form' ? (
          <div id="panel-form" role="tabpanel" aria-labelledby="tab-form">
            {form === null ? (
              <p className="error-text" role="alert">
                The YAML cannot be read, so the form cannot show it. Fix it in the YAML tab.
              </p>
            ) : (
              <>
                <div className="row">
                  <Field
                    id="hostname"
                    label="Host name"
                    help="Becomes /etc/hostname and the apkovl's name"
                    issues={issues('hostname')}
                  >
                    {text('hostname', 'kiosk-hall')}
                  </Field>
                  <Field id="timezone" label="Time zone" issues={issues('timezone')}>
                    {text('timezone', 'Europe/Berlin')}
                  </Field>
                </div>
                <div className="row">
                  <Field id="board" label="Machine" issues={issues('board')}>
                    <select
                      id="board"
                      value={form.board}
                      onChange={(event) => set('board')(event.target.value as MachineFormState['board'])}
                      {...describedBy('board', issues('board'))}
                    >
                      {boards.map((board) => (
                        <option key={board} value={board}>
                          {board === 'rpi'
                            ? 'Raspberry Pi'
                            : board === 'x86_64'
                              ? 'PC, USB stick (BIOS and UEFI)'
                              : 'PC, USB stick (UEFI only)'}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field id="arch" label="Architecture" issues={issues('arch')}>
                    <select
                      id="arch"
                      value={form.arch}
                      onChange={(event) => set('arch')(event.target.value)}
                      {...describedBy('arch', issues('arch'))}
                    >
                      {archs.map((arch) => (
                        <option key={arch} value={arch}>
                          {arch}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field
                    id="version"
                    label="Alpine release"
                    help="e.g. 3.22.2; empty: the newest"
                    issues={issues('version')}
                  >
                    {text('version', '3.22.2')}
                  </Field>
                </div>
                <h3>Network</h3>
                {checkbox('ethernet', 'Ethernet (eth0) with DHCP')}
                {form?.ethernet === true && (
                  <div className="row">
                    <Field
                      id="ethernetMac"
                      label="Ethernet MAC address"
                      help="Optional: apkovl serve answers a netbooted machine by it"
                      issues={issues('ethernetMac')}
                    >
                      {text('ethernetMac', '52:54:00:12:34:56')}
                    </Field>
                  </div>
                )}
                <div className="row">
                  <Field id="wifiSsid" label="Wi-Fi network" help="Empty: no Wi-Fi" issues={issues('wifiSsid')}>
                    {text('wifiSsid')}
                  </Field>
                  <Field
                    id="wifiPassphrase"
                    label="Passphrase"
                    help={
                      draft.secretsKnown
                        ? 'Kept in the secrets file; the card gets the PSK only'
                        : 'In the secrets file beside the definition'
                    }
                    issues={issues('wifiPassphrase')}
                  >
                    <input
                      id="wifiPassphrase"
                      type="password"
                      disabled={!draft.secretsKnown}
                      value={form.wifiPassphrase}
                      onChange={(event) => set('wifiPassphrase')(event.target.value)}
                      {...describedBy('wifiPassphrase', issues('wifiPassphrase'))}
                    />
                  </Field>
                  <Field id="wifiCountry" label="Country" help="Two letters, e.g. DE" issues={issues('wifiCountry')}>
                    {text('wifiCountry')}
                  </Field>
                </div>
                <h3>Administrator</h3>
                <div className="row">
                  <Field id="userName" label="User" issues={issues('userName')}>
                    {text('userName')}
                  </Field>
                  <Field
                    id="sshKey"
                    label="SSH public key"
                    help="ssh-ed25519 AAAA… you@laptop"
                    issues={issues('sshKey')}
                  >
                    {text('sshKey')}
                  </Field>
                </div>
                {checkbox('doas', 'May become root with doas')}
                <h3>Kiosk</h3>
                {checkbox('kiosk', 'Show one web page full screen (Chromium)')}
                {issues('kiosk')?.map((issue) => (
                  <p key={issue.message} className={issue.severity === 'error' ? 'error-text' : 'warning'}>
                    {issue.message}
                  </p>
                ))}
                {form.kiosk ? (
                  <div className="row">
                    <Field id="kioskUrl" label="Page" issues={issues('kioskUrl')}>
                      {text('kioskUrl', 'https://example.org/')}
                    </Field>
                    <Field id="rotate" label="Rotation">
                      <select id="rotate" value={form.rotate} onChange={(event) => set('rotate')(event.target.value)}>
                        {['0', '90', '180', '270'].map((degrees) => (
                          <option key={degrees} value={degrees}>
                            {degrees}°
                          </option>
                        ))}
                      </select>
                    </Field>
                  </div>
                ) : null}
                <h3>Card</h3>
                <div className="row">
                  <Field
                    id="partitionSize"
                    label="Boot partition size"
                    help="Empty: the whole drive (an image file: 512 MiB). e.g. 1GiB"
                    issues={issues('partitionSize')}
                  >
                    {text('partitionSize', 'whole')}
                  </Field>
                </div>
                {checkbox('apkCache', 'Keep downloaded packages on the card')}
                {checkbox('lbu', 'lbu commit saves /etc to the card')}
                {touched && check.general.length > 0 ? (
                  <div className="issues" role="group" aria-label="Other problems">
                    <p>Problems in fields the form does not show (see the YAML tab):</p>
                    <ul>
                      {check.general.map((issue) => (
                        <li
                          key={`${issue.path}${issue.message}`}
                          className={issue.severity === 'error' ? 'error-text' : 'warning'}
                        >
                          {issue.path}
                          {issue.line !== null ? ` (line ${issue.line})` : ''}: {issue.message}
                        </li>
                      ))}
                    </ul>
                  </div>
                ) : null}
              </>
            )}
          </div>
        ) : (
          <div id="panel-yaml" role="tabpanel" aria-labelledby="tab-yaml" className="field">
            <label htmlFor="yaml">The whole definition (static addresses, packages, services, files, scripts…)</label>
            <textarea
              id="yaml"
              spellCheck={false}
              rows={22}
              value={draft.yaml}
              aria-invalid={!check.valid}
              aria-describedby="yaml-issues"
              onChange={(event) => update({ yaml: event.target.value })}
            />
            <div id="yaml-issues" aria-live="polite">
              {check.issues.length === 0 ? (
                <p className="help">No problems: the CLI reads this definition as it is.</p>
              ) : (
                <ul className="issues">
                  {check.issues.map((issue) => (
                    <li
                      key={`${issue.path}${issue.line}${issue.message}`}
                      className={issue.severity === 'error' ? 'error-text' : 'warning'}
                    >
                      {issue.line !== null ? `Line ${issue.line}: ` : ''}
                      {issue.path}: {issue.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </div>
        )}
        <p role="status" className="muted status-line">
          {status}
        </p>
        <div className="actions">
          <button type="button" className="secondary" onClick={() => void save()}>
            Save as…
          </button>
          <button type="button" onClick={() => void next()}>
            Next: Alpine
          </button>
        </div>
      </section>
      {failure !== null ? <ErrorPanel error={failure.error} title={failure.title} /> : null}
    </div>
  );
}
