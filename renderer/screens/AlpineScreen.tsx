import { useEffect, useRef, useState } from 'react';
import { IpcError, type Client } from '../../shared/ipc/client.js';
import type { CommandOutput } from '../../shared/ipc/contract.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayText } from '../../shared/rules/display.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { OfflinePackages } from '../components/OfflinePackages.js';
import { ProgressBar } from '../components/ProgressBar.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { definitionTarget, type DefinitionDraft } from '../machine-form.js';
import { newJobId, type FetchedRelease, type MediaChoice } from '../wizard.js';

type Release = CommandOutput<'release.list'>['releases'][number];

/** The boot media file a target boots from, as the release index names its flavor. */
function fits(release: Release, board: string, flavor: string): boolean {
  return board === 'rpi'
    ? release.flavor === 'alpine-rpi' && release.file.endsWith('.tar.gz')
    : release.flavor === `alpine-${flavor}` && release.file.endsWith('.iso');
}

/** Alpine's boot media for the definition's board and architecture: a release (cached or to download) or a file. */
export function AlpineScreen({
  client,
  draft,
  media,
  onBack,
  onNext,
}: {
  client: Client;
  draft: DefinitionDraft;
  media: MediaChoice | null;
  onBack: () => void;
  onNext: (media: MediaChoice) => void;
}) {
  const wanted = definitionTarget(draft.yaml);
  const branch = wanted.version !== null ? `v${wanted.version.split('.').slice(0, 2).join('.')}` : wanted.branch;
  const [mirror, setMirror] = useState(media?.kind === 'release' ? media.mirror : wanted.mirror);
  const [releases, setReleases] = useState<Release[] | null>(null);
  const [listFailure, setListFailure] = useState<unknown>(null);
  const [version, setVersion] = useState<string>(media?.kind === 'release' ? media.version : (wanted.version ?? ''));
  const [cached, setCached] = useState<FetchedRelease | null | undefined>(undefined);
  const [download, setDownload] = useState<{ jobId: string; progress: ProgressEvent | null } | null>(null);
  const [failure, setFailure] = useState<{ error: unknown; title: string } | null>(null);
  const [file, setFile] = useState<string | null>(media?.kind === 'file' ? media.path : null);
  const jobRef = useRef<string | null>(null);
  const flavor = wanted.board === 'rpi' ? undefined : wanted.flavor;

  useEffect(
    () =>
      client.on('job.progress', ({ jobId, progress }) => {
        if (jobId === jobRef.current) setDownload((current) => (current ? { ...current, progress } : current));
      }),
    [client],
  );

  // The releases the mirror lists for this branch and architecture (asked again when the mirror changes).
  useEffect(() => {
    let live = true;
    setReleases(null);
    setListFailure(null);
    const timer = setTimeout(() => {
      client.invoke('release.list', { arch: wanted.arch, branch, mirror }).then(
        ({ releases: found }) => {
          if (!live) return;
          const usable = found.filter((release) => fits(release, wanted.board, wanted.flavor));
          setReleases(usable);
          setVersion((current) =>
            usable.some((release) => release.version === current) ? current : (usable[0]?.version ?? ''),
          );
        },
        (error: unknown) => {
          if (live) setListFailure(error);
        },
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, mirror, branch, wanted.arch, wanted.board, wanted.flavor]);

  const query = {
    board: wanted.board,
    arch: wanted.arch,
    version,
    ...(flavor !== undefined ? { flavor } : {}),
    mirrors: [mirror],
  };
  // Whether the chosen release is verified in the cache already (no network).
  useEffect(() => {
    if (version === '') return;
    let live = true;
    setCached(undefined);
    client.invoke('release.status', query).then(
      ({ cached: found }) => {
        if (live) setCached(found);
      },
      () => {
        if (live) setCached(null);
      },
    );
    return () => {
      live = false;
    };
  }, [client, version, mirror]);

  async function fetchNow(): Promise<void> {
    const jobId = newJobId('fetch');
    jobRef.current = jobId;
    setFailure(null);
    setDownload({ jobId, progress: null });
    try {
      setCached(await client.invoke('release.fetch', { jobId, query }));
    } catch (error) {
      if (!(error instanceof IpcError && error.code === 'cancelled'))
        setFailure({ error, title: 'The boot media were not downloaded' });
    } finally {
      jobRef.current = null;
      setDownload(null);
    }
  }

  async function chooseFile(): Promise<void> {
    const chosen = await client.invoke('dialog.open-file', {
      title: 'Alpine boot media',
      filters: [{ name: 'Alpine boot media (.tar.gz, .iso)', extensions: ['gz', 'iso'] }],
    });
    if (chosen.path !== null) setFile(chosen.path);
  }

  const release = releases?.find((each) => each.version === version) ?? null;
  const pinnedElsewhere = wanted.version !== null && version !== '' && version !== wanted.version;
  const canGoOn = file !== null || (version !== '' && download === null && (release !== null || cached));
  const boardName =
    wanted.board === 'rpi' ? 'Raspberry Pi' : wanted.board === 'x86_64' ? 'PC (BIOS and UEFI)' : 'PC (UEFI only)';

  return (
    <div className="screen">
      <section className="card" aria-labelledby="alpine-heading">
        <ScreenHeading step="Step 2 of 6">Alpine boot media</ScreenHeading>
        <p className="muted">
          For a {boardName}, {wanted.arch}
          {wanted.version ? `; the definition asks for Alpine ${wanted.version}` : `; branch ${branch}`}.
        </p>
        <div className="row">
          <div className="field">
            <label htmlFor="release">Release</label>
            <select
              id="release"
              value={version}
              disabled={releases === null || download !== null || file !== null}
              aria-describedby="release-help"
              onChange={(event) => setVersion(event.target.value)}
            >
              {releases === null ? <option value={version}>{version || 'Loading…'}</option> : null}
              {releases?.map((each) => (
                <option key={each.file} value={each.version}>
                  {each.version} ({displayText(each.file)}, {formatBytes(each.size)})
                </option>
              ))}
            </select>
            <p id="release-help" className={pinnedElsewhere ? 'warning' : 'help'}>
              {pinnedElsewhere
                ? `The definition pins ${wanted.version}; the card would boot ${version} but install packages for ${wanted.version}.`
                : releases !== null && releases.length === 0
                  ? `The mirror lists no boot media for ${wanted.arch} on ${branch}.`
                  : 'As the mirror lists them; signed by Alpine and checked before use'}
            </p>
          </div>
          <div className="field">
            <label htmlFor="mirror">Mirror</label>
            <input
              id="mirror"
              type="url"
              spellCheck={false}
              value={mirror}
              disabled={download !== null}
              aria-describedby="mirror-help"
              onChange={(event) => setMirror(event.target.value)}
            />
            <p id="mirror-help" className="help">
              The only place the app downloads from
            </p>
          </div>
        </div>
        {listFailure !== null && file === null ? (
          <ErrorPanel error={listFailure} title="The mirror's release list could not be read" />
        ) : null}
        <div className="media-status" role="status" aria-live="polite">
          {file !== null ? (
            <p>
              Using the local file <code>{displayText(file)}</code>.
            </p>
          ) : version === '' ? null : cached === undefined ? (
            <p className="muted">Looking in the download cache…</p>
          ) : cached !== null ? (
            <p>
              <span className="badge ok">In the cache</span> {displayText(cached.fileName)}, verified (signed by{' '}
              {displayText(cached.signedBy)}).
            </p>
          ) : (
            <p>
              <span className="badge">Not downloaded</span> {release ? formatBytes(release.size) : ''} to download, now
              or when writing.
            </p>
          )}
        </div>
        {download !== null ? (
          <div className="download" aria-live="polite">
            {download.progress ? (
              <ProgressBar progress={download.progress} label="Download" />
            ) : (
              <p className="muted">Starting the download…</p>
            )}
            <button
              type="button"
              className="secondary"
              onClick={() => void client.invoke('job.cancel', { jobId: download.jobId })}
            >
              Cancel download
            </button>
          </div>
        ) : null}
        {failure !== null ? <ErrorPanel error={failure.error} title={failure.title} /> : null}
        {wanted.offline && draft.path !== null ? (
          <OfflinePackages client={client} definition={draft.path} secretsFile={draft.secretsPath} />
        ) : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={onBack}>
            Back
          </button>
          {file === null ? (
            <>
              <button
                type="button"
                className="secondary"
                disabled={download !== null || cached !== null || version === ''}
                onClick={() => void fetchNow()}
              >
                Download now
              </button>
              <button
                type="button"
                className="secondary"
                disabled={download !== null}
                onClick={() => void chooseFile()}
              >
                Use a local file…
              </button>
            </>
          ) : (
            <button type="button" className="secondary" onClick={() => setFile(null)}>
              Use a release instead
            </button>
          )}
          <button
            type="button"
            disabled={!canGoOn}
            onClick={() =>
              onNext(
                file !== null
                  ? { kind: 'file', path: file }
                  : {
                      kind: 'release',
                      board: wanted.board,
                      arch: wanted.arch,
                      version,
                      ...(flavor !== undefined ? { flavor } : {}),
                      mirror,
                      fetched: cached ?? null,
                    },
              )
            }
          >
            Next: Target
          </button>
        </div>
      </section>
    </div>
  );
}
