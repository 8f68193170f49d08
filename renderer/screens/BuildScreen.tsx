import { useEffect, useRef, useState } from 'react';
import { IpcError, type Client } from '../../shared/ipc/client.js';
import type { BuildSummary } from '../../shared/model/build-image.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { emptyBuildForm, toBuildRequest, type BuildFormState, type FormErrors } from '../build-form.js';
import { BuildResult } from '../components/BuildResult.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { FileField } from '../components/FileField.js';
import { ProgressBar } from '../components/ProgressBar.js';

type Status =
  | { kind: 'editing' }
  | { kind: 'building'; jobId: string; progress: ProgressEvent | null }
  | { kind: 'done'; summary: BuildSummary }
  | { kind: 'failed'; error: unknown }
  | { kind: 'cancelled' };

let jobCounter = 0;

/** Boot media + apkovl -> card image, the GUI face of `apkovl build`. */
export function BuildScreen({
  client,
  definition,
}: {
  client: Client;
  definition?: { machine: string; secrets: string | null } | null;
}) {
  const [form, setForm] = useState<BuildFormState>(emptyBuildForm);
  useEffect(() => {
    if (definition)
      setForm((current) => ({
        ...current,
        machine: definition.machine,
        machineKind: null,
        secrets: definition.secrets ?? '',
      }));
  }, [definition]);
  const [errors, setErrors] = useState<FormErrors>({});
  const [status, setStatus] = useState<Status>({ kind: 'editing' });
  const jobRef = useRef<string | null>(null);

  useEffect(
    () =>
      client.on('job.progress', ({ jobId, progress }) => {
        if (jobId !== jobRef.current) return;
        setStatus((current) => (current.kind === 'building' ? { ...current, progress } : current));
      }),
    [client],
  );

  // What the machine file is, decided by its content on the main side (never by its name).
  async function classify(file: string): Promise<BuildFormState['machineKind']> {
    try {
      const { kind } = await client.invoke('file.kind', { path: file });
      return kind === 'yaml' ? 'definition' : kind === 'gzip' ? 'apkovl' : 'unknown';
    } catch {
      return 'unknown';
    }
  }
  useEffect(() => {
    const file = form.machine.trim();
    if (file === '') return;
    let current = true;
    const timer = setTimeout(() => {
      void classify(file).then((machineKind) => {
        if (current) setForm((state) => (state.machine.trim() === file ? { ...state, machineKind } : state));
      });
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, form.machine]);
  const isDefinition = form.machineKind === 'definition';

  const building = status.kind === 'building';
  const set = (field: Exclude<keyof BuildFormState, 'machineKind'>) => (value: string) => {
    setForm((current) => ({ ...current, [field]: value, ...(field === 'machine' ? { machineKind: null } : {}) }));
    setErrors((current) => ({ ...current, [field]: undefined }));
  };

  const filters: Record<'bootMedia' | 'machine' | 'secrets', { title: string; name: string; extensions: string[] }> = {
    bootMedia: { title: 'Alpine boot media', name: 'Alpine boot media', extensions: ['gz', 'iso'] },
    machine: { title: 'Machine definition or apkovl', name: 'Definition or apkovl', extensions: ['yml', 'yaml', 'gz'] },
    secrets: { title: 'Secrets file', name: 'Secrets', extensions: ['yml', 'yaml'] },
  };

  async function browse(field: 'bootMedia' | 'machine' | 'secrets' | 'output'): Promise<void> {
    const result =
      field === 'output'
        ? await client.invoke('dialog.save-file', { title: 'Save the card image as', defaultName: 'card.img' })
        : await client.invoke('dialog.open-file', {
            title: filters[field].title,
            filters: [{ name: filters[field].name, extensions: filters[field].extensions }],
          });
    if (result.path !== null) set(field)(result.path);
  }

  async function build(): Promise<void> {
    let current = form;
    if (current.machineKind === null && current.machine.trim() !== '') {
      // Pressed before the file's kind came back: ask now rather than refuse.
      const machineKind = await classify(current.machine.trim());
      current = { ...current, machineKind };
      setForm((state) => (state.machine === current.machine ? { ...state, machineKind } : state));
    }
    const checked = toBuildRequest(current);
    if ('errors' in checked) {
      setErrors(checked.errors);
      return;
    }
    jobCounter += 1;
    const jobId = `build-${Date.now()}-${jobCounter}`;
    jobRef.current = jobId;
    setStatus({ kind: 'building', jobId, progress: null });
    try {
      const summary = await client.invoke('card.build', { jobId, request: checked.request });
      setStatus({ kind: 'done', summary });
    } catch (error) {
      setStatus(
        error instanceof IpcError && error.code === 'cancelled' ? { kind: 'cancelled' } : { kind: 'failed', error },
      );
    } finally {
      jobRef.current = null;
    }
  }

  return (
    <div className="screen">
      <section className="card">
        <h2>Build a card image</h2>
        <p className="muted">
          Alpine&apos;s boot files and your apkovl on one FAT32 partition, ready for an SD card or USB stick. Any apkovl
          that came with the boot media is removed.
        </p>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void build();
          }}
        >
          <FileField
            id="boot-media"
            label="Boot media"
            help={
              isDefinition
                ? 'Optional for a definition: empty fetches and verifies what it calls for'
                : 'alpine-rpi-<version>-<arch>.tar.gz, or an x86_64 ISO'
            }
            value={form.bootMedia}
            error={errors.bootMedia}
            disabled={building}
            onChange={set('bootMedia')}
            onBrowse={() => void browse('bootMedia')}
          />
          <FileField
            id="machine"
            label="Machine"
            help="A machine definition (.yml), or a ready apkovl; stored on the card as <hostname>.apkovl.tar.gz"
            value={form.machine}
            error={errors.machine}
            disabled={building}
            onChange={set('machine')}
            onBrowse={() => void browse('machine')}
          />
          {isDefinition ? (
            <FileField
              id="secrets"
              label="Secrets (optional)"
              help="The file ${secret:name} references in the definition come from"
              value={form.secrets}
              disabled={building}
              onChange={set('secrets')}
              onBrowse={() => void browse('secrets')}
            />
          ) : null}
          <FileField
            id="output"
            label="Save image as"
            help="Created only when the image is complete"
            value={form.output}
            error={errors.output}
            disabled={building}
            onChange={set('output')}
            onBrowse={() => void browse('output')}
          />
          <div className={`field narrow${errors.size ? ' invalid' : ''}`}>
            <label htmlFor="size">Partition size</label>
            <input
              id="size"
              type="text"
              value={form.size}
              disabled={building}
              onChange={(event) => set('size')(event.target.value)}
            />
            <p className={errors.size ? 'error-text' : 'help'}>
              {errors.size ??
                "Empty: the definition's boot.partition_size, else 512 MiB. The image is 1 MiB larger; image files are sparse."}
            </p>
          </div>
          <div className="actions">
            <button type="submit" disabled={building}>
              {building ? 'Building…' : 'Build image'}
            </button>
            {building ? (
              <button
                type="button"
                className="secondary"
                onClick={() => void client.invoke('job.cancel', { jobId: status.jobId })}
              >
                Cancel
              </button>
            ) : null}
          </div>
        </form>
      </section>
      {status.kind === 'building' ? (
        <section className="card">
          {status.progress ? <ProgressBar progress={status.progress} /> : <p className="muted">Starting…</p>}
        </section>
      ) : null}
      {status.kind === 'done' ? <BuildResult summary={status.summary} /> : null}
      {status.kind === 'failed' ? <ErrorPanel error={status.error} /> : null}
      {status.kind === 'cancelled' ? (
        <section className="card" role="status">
          <p>Cancelled. Nothing was written.</p>
        </section>
      ) : null}
    </div>
  );
}
