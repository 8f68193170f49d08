import { useMemo, useState } from 'react';
import type { Client } from '../../shared/ipc/client.js';
import { architectures, boards } from '../../shared/model/targets.js';
import { Field } from '../components/Field.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { checkForm, emptyMachineForm, toDefinition, toYaml, type MachineFormState } from '../machine-form.js';

/**
 * A machine definition from a form: checked live by the schema and rules the CLI uses, shown as
 * the YAML it saves, and saved with its secrets beside it.
 */
export function MachineScreen({
  client,
  onSaved,
}: {
  client: Client;
  onSaved: (definition: string, secrets: string | null) => void;
}) {
  const [form, setForm] = useState<MachineFormState>(emptyMachineForm);
  const [touched, setTouched] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const check = useMemo(() => checkForm(form), [form]);
  const { input, secrets } = useMemo(() => toDefinition(form), [form]);
  const yaml = useMemo(() => toYaml(input), [input]);

  const set =
    <K extends keyof MachineFormState>(key: K) =>
    (value: MachineFormState[K]) => {
      setForm((current) => ({ ...current, [key]: value }));
      setTouched(true);
      setSaved(null);
    };
  const issues = (field: keyof MachineFormState) => (touched ? check.fields[field] : undefined);
  const text = (field: keyof MachineFormState, placeholder = '') => (
    <input
      id={field}
      type="text"
      spellCheck={false}
      placeholder={placeholder}
      value={String(form[field])}
      onChange={(event) => set(field)(event.target.value)}
    />
  );
  const checkbox = (field: keyof MachineFormState, label: string) => (
    <label className="checkbox">
      <input
        id={field}
        type="checkbox"
        checked={Boolean(form[field])}
        onChange={(event) => set(field)(event.target.checked)}
      />{' '}
      {label}
    </label>
  );

  async function save(): Promise<void> {
    setTouched(true);
    if (!check.valid) return;
    setFailure(null);
    const target = await client.invoke('dialog.save-file', {
      title: 'Save the machine definition as',
      defaultName: `${form.hostname || 'machine'}.yml`,
    });
    if (target.path === null) return;
    try {
      const result = await client.invoke('definition.save', { path: target.path, yaml, secrets });
      setSaved(result.path);
      onSaved(result.path, result.secretsPath);
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <div className="screen two-columns">
      <section className="card">
        <h2>Describe a machine</h2>
        <p className="muted">
          The common settings; the YAML it makes can do more (static addresses, files, run-once scripts, ...).
        </p>
        <Field
          id="hostname"
          label="Host name"
          help="Becomes /etc/hostname and the apkovl's name"
          issues={issues('hostname')}
        >
          {text('hostname', 'kiosk-hall')}
        </Field>
        <div className="row">
          <Field id="board" label="Machine" issues={issues('board')}>
            <select
              id="board"
              value={form.board}
              onChange={(event) => set('board')(event.target.value as MachineFormState['board'])}
            >
              {boards.map((board) => (
                <option key={board} value={board}>
                  {board === 'rpi' ? 'Raspberry Pi' : 'PC, UEFI USB stick'}
                </option>
              ))}
            </select>
          </Field>
          <Field id="arch" label="Architecture" issues={issues('arch')}>
            <select id="arch" value={form.arch} onChange={(event) => set('arch')(event.target.value)}>
              {architectures.map((arch) => (
                <option key={arch} value={arch}>
                  {arch}
                </option>
              ))}
            </select>
          </Field>
          <Field
            id="version"
            label="Alpine release"
            help="e.g. 3.22.2; empty: latest-stable"
            issues={issues('version')}
          >
            {text('version', '3.22.2')}
          </Field>
        </div>
        <Field id="timezone" label="Time zone" issues={issues('timezone')}>
          {text('timezone', 'Europe/Berlin')}
        </Field>
        <h3>Network</h3>
        {checkbox('ethernet', 'Ethernet (eth0) with DHCP')}
        <div className="row">
          <Field id="wifiSsid" label="Wi-Fi network" help="Leave empty for no Wi-Fi" issues={issues('wifiSsid')}>
            {text('wifiSsid')}
          </Field>
          <Field
            id="wifiPassphrase"
            label="Passphrase"
            help="Kept in the secrets file; the card gets the PSK only"
            issues={issues('wifiPassphrase')}
          >
            <input
              id="wifiPassphrase"
              type="password"
              value={form.wifiPassphrase}
              onChange={(event) => set('wifiPassphrase')(event.target.value)}
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
          <Field id="sshKey" label="SSH public key" help="ssh-ed25519 AAAA... you@laptop" issues={issues('sshKey')}>
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
        <h3>Persistence</h3>
        {checkbox('apkCache', 'Keep downloaded packages on the card')}
        {checkbox('lbu', 'lbu commit saves /etc to the card')}
        {touched && check.general.length > 0 ? (
          <ul className="issues" aria-label="Other problems">
            {check.general.map((issue) => (
              <li
                key={`${issue.path}${issue.message}`}
                className={issue.severity === 'error' ? 'error-text' : 'warning'}
              >
                {issue.path}: {issue.message}
              </li>
            ))}
          </ul>
        ) : null}
        <div className="actions">
          <button type="button" onClick={() => void save()} disabled={touched && !check.valid}>
            Save definition…
          </button>
        </div>
        {saved ? (
          <p role="status" className="muted">
            Saved {saved}. The Build tab has it filled in.
          </p>
        ) : null}
      </section>
      <section className="card">
        <h2>machine.yml</h2>
        <pre className="yaml" aria-label="Definition preview">
          {yaml}
        </pre>
      </section>
      {failure ? <ErrorPanel error={failure} title="The definition was not saved" /> : null}
    </div>
  );
}
