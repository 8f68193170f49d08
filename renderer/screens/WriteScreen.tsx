import { useEffect, useRef, useState } from 'react';
import { IpcError, type Client } from '../../shared/ipc/client.js';
import type { BuildSummary } from '../../shared/model/build-image.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';
import { driveTitle } from '../../shared/rules/drive-safety.js';
import { displayText } from '../../shared/rules/display.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { packagesText } from '../components/OfflinePackages.js';
import { definitionTarget, type DefinitionDraft } from '../machine-form.js';
import { buildRequest, newJobId, type Confirmation, type MediaChoice, type TargetChoice } from '../wizard.js';

export type WriteOutcome =
  | { kind: 'done'; summary: BuildSummary }
  | { kind: 'failed'; error: unknown; phase: Phase }
  | { kind: 'cancelled'; phase: Phase };

type Phase = 'download' | 'packages' | 'build' | 'write' | 'verify';
const allPhases: [Phase, string][] = [
  ['download', 'Download'],
  ['packages', 'Packages'],
  ['build', 'Build'],
  ['write', 'Write'],
  ['verify', 'Verify'],
];
interface PhaseState {
  status: 'waiting' | 'active' | 'done' | 'skipped';
  progress: ProgressEvent | null;
  note: string | null;
}
const initial = (): Record<Phase, PhaseState> => ({
  download: { status: 'waiting', progress: null, note: null },
  packages: { status: 'waiting', progress: null, note: null },
  build: { status: 'waiting', progress: null, note: null },
  write: { status: 'waiting', progress: null, note: null },
  verify: { status: 'waiting', progress: null, note: null },
});

/** Which of the four steps a progress event belongs to (probing the drive is part of writing it). */
function phaseOf(progress: ProgressEvent): Phase | null {
  if (progress.phase === 'probe') return 'write';
  if (progress.phase === 'done') return null;
  return progress.phase;
}

/**
 * Download (when needed), the packages of an offline machine (fetched and checked by the
 * unprivileged worker, before an elevated drive build reads them from its cache), build, write
 * and read back, each with its bytes, speed and time left; cancellable.
 */
export function WriteScreen({
  client,
  draft,
  media,
  target,
  confirmation,
  onFetched,
  onDone,
}: {
  client: Client;
  draft: DefinitionDraft;
  media: MediaChoice;
  target: TargetChoice;
  confirmation: Confirmation | null;
  onFetched: (media: MediaChoice) => void;
  onDone: (outcome: WriteOutcome) => void;
}) {
  const offline = definitionTarget(draft.yaml).offline;
  const phases = allPhases.filter(([id]) => offline || id !== 'packages');
  const [state, setState] = useState(initial);
  const [notes, setNotes] = useState<string[]>([]);
  const [cancelling, setCancelling] = useState(false);
  const job = useRef<string | null>(null);
  const current = useRef<Phase>('download');
  /**
   * The download and packages jobs report their signature checks as `verify`: all of a job's
   * progress belongs to its own step.
   */
  const fixedPhase = useRef<Phase | null>(null);
  const started = useRef(false);
  /** Cancel pressed between two jobs: the next one does not start. */
  const stop = useRef(false);

  const mark = (phase: Phase, change: Partial<PhaseState>) =>
    setState((before) => ({ ...before, [phase]: { ...before[phase], ...change } }));

  useEffect(() => {
    const offProgress = client.on('job.progress', ({ jobId, progress }) => {
      if (jobId !== job.current) return;
      const phase = fixedPhase.current ?? phaseOf(progress);
      if (phase === null) return;
      setState((before) => {
        const next = { ...before };
        // Earlier steps are done once a later one reports.
        for (const [id] of allPhases) {
          if (id === phase) break;
          if (next[id].status === 'active' || next[id].status === 'waiting')
            next[id] = {
              ...next[id],
              status: (id === 'download' || id === 'packages') && next[id].status === 'waiting' ? 'skipped' : 'done',
            };
        }
        next[phase] = { ...next[phase], status: 'active', progress };
        return next;
      });
      current.current = phase;
    });
    const offNote = client.on('job.note', ({ jobId, text }) => {
      if (jobId === job.current) setNotes((before) => [...before.slice(-4), text]);
    });
    return () => {
      offProgress();
      offNote();
    };
  }, [client]);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void run();
  }, []);

  async function run(): Promise<void> {
    let mediaPath: string;
    try {
      if (media.kind === 'file') {
        mediaPath = media.path;
        mark('download', { status: 'skipped', note: `Local file ${displayText(media.path)}` });
      } else if (media.fetched !== null) {
        mediaPath = media.fetched.path;
        mark('download', { status: 'skipped', note: `${displayText(media.fetched.fileName)} is in the cache` });
      } else {
        current.current = 'download';
        mark('download', { status: 'active' });
        job.current = newJobId('fetch');
        fixedPhase.current = 'download';
        const fetched = await client.invoke('release.fetch', {
          jobId: job.current,
          query: {
            board: media.board,
            arch: media.arch,
            version: media.version,
            ...(media.flavor !== undefined ? { flavor: media.flavor } : {}),
            mirrors: [media.mirror],
          },
        });
        fixedPhase.current = null;
        onFetched({ ...media, fetched });
        mediaPath = fetched.path;
        mark('download', { status: 'done', note: `${displayText(fetched.fileName)}, verified` });
      }
      if (stop.current) {
        onDone({ kind: 'cancelled', phase: 'download' });
        return;
      }
      let packagesCache: string | undefined;
      if (offline) {
        current.current = 'packages';
        mark('packages', { status: 'active' });
        job.current = newJobId('packages');
        fixedPhase.current = 'packages';
        const fetched = await client.invoke('packages.resolve', {
          jobId: job.current,
          request: {
            definition: {
              file: draft.path ?? '',
              ...(draft.secretsPath !== null ? { secretsFile: draft.secretsPath } : {}),
            },
            bootMedia: mediaPath,
            fetch: true,
          },
        });
        fixedPhase.current = null;
        const count = fetched.count;
        if (count !== null) {
          packagesCache = fetched.cacheDir;
          mark('packages', {
            status: 'done',
            note: `${packagesText({ ...count, resolved: count.packages })} for the card's apk cache, verified${count.onBootMedia > 0 ? `; ${count.onBootMedia} more on the boot media` : ''}`,
          });
        } else {
          mark('packages', { status: 'skipped', note: 'alpine.offline is off' });
        }
        if (stop.current) {
          onDone({ kind: 'cancelled', phase: 'packages' });
          return;
        }
      }
      current.current = 'build';
      mark('build', { status: 'active' });
      job.current = newJobId('build');
      const summary = await client.invoke('card.build', {
        jobId: job.current,
        request: buildRequest({
          definition: draft,
          mediaPath,
          target,
          confirmation,
          ...(packagesCache !== undefined ? { packagesCache } : {}),
        }),
      });
      job.current = null;
      onDone({ kind: 'done', summary });
    } catch (error) {
      job.current = null;
      if (error instanceof IpcError && error.code === 'cancelled')
        onDone({ kind: 'cancelled', phase: current.current });
      else onDone({ kind: 'failed', error, phase: current.current });
    }
  }

  const where = target.kind === 'image' ? `the image file ${displayText(target.path)}` : driveTitle(target.drive);
  const active = phases.find(([id]) => state[id].status === 'active');
  return (
    <div className="screen">
      <section className="card" aria-labelledby="write-heading">
        <ScreenHeading step="Step 5 of 6">Writing the card</ScreenHeading>
        <p className="muted">
          To {where}.{target.kind === 'device' ? ' Keep the card in until this is done.' : ''}
        </p>
        <p className="visually-hidden" aria-live="polite">
          {active ? `${active[1]} in progress` : ''}
        </p>
        <ol className="phases">
          {phases.map(([id, label]) => {
            const phase = state[id];
            return (
              <li key={id} className={`phase ${phase.status}`} aria-label={`${label}: ${phase.status}`}>
                <div className="phase-title">
                  <strong>{label}</strong>
                  <span className="muted">
                    {phase.status === 'waiting'
                      ? 'Waiting'
                      : phase.status === 'skipped'
                        ? id === 'download'
                          ? 'Nothing to download'
                          : 'Not needed'
                        : phase.status === 'done'
                          ? `Done${id !== 'packages' && phase.progress && (phase.progress.total ?? phase.progress.bytes) > 0 ? `, ${formatBytes(phase.progress.total ?? phase.progress.bytes)}` : ''}`
                          : 'In progress'}
                  </span>
                </div>
                {phase.note ? <p className="muted">{phase.note}</p> : null}
                {phase.status === 'active' && phase.progress ? (
                  <ProgressBar progress={phase.progress} label={label} />
                ) : null}
              </li>
            );
          })}
        </ol>
        {notes.length > 0 ? (
          <ul className="notes" aria-label="Notes">
            {notes.map((note, index) => (
              <li key={`${index}-${note}`}>{note}</li>
            ))}
          </ul>
        ) : null}
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={cancelling}
            onClick={() => {
              setCancelling(true);
              stop.current = true;
              if (job.current !== null) void client.invoke('job.cancel', { jobId: job.current });
            }}
          >
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
      </section>
    </div>
  );
}
