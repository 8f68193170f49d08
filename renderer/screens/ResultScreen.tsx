import type { BuildSummary } from '../../shared/model/build-image.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayText } from '../../shared/rules/display.js';
import type { Client } from '../../shared/ipc/client.js';
import { ErrorPanel } from '../components/ErrorPanel.js';
import { TryInQemu } from '../components/TryInQemu.js';
import { ScreenHeading } from '../components/ScreenHeading.js';
import { definitionTarget, type DefinitionDraft } from '../machine-form.js';
import type { TargetChoice } from '../wizard.js';
import type { WriteOutcome } from './WriteScreen.js';

function boardAdvice(board: string, arch: string): string {
  if (board === 'x86_64-uefi') return 'Plug the stick into the PC and boot it with UEFI (Secure Boot off).';
  if (board === 'x86_64')
    return 'Plug the stick into the PC and boot from it: it starts with BIOS (legacy) or UEFI (Secure Boot off).';
  const models =
    arch === 'aarch64'
      ? 'a Raspberry Pi 3, 4, 400 or 5'
      : arch === 'armv7'
        ? 'a Raspberry Pi 2 or 3'
        : 'a Raspberry Pi 1 or Zero';
  return `Put the card into ${models} and switch it on.`;
}

function Done({
  client,
  summary,
  draft,
  target,
}: {
  client: Client;
  summary: BuildSummary;
  draft: DefinitionDraft;
  target: TargetChoice;
}) {
  const machine = definitionTarget(draft.yaml);
  const minutes = machine.kiosk ? '5 to 10' : '1 to 3';
  const hostname = displayText(summary.overlay?.hostname ?? machine.hostname);
  const rows: [string, string][] = [
    [target.kind === 'image' ? 'Image' : 'Drive', displayText(summary.output)],
    ['Alpine', summary.alpineRelease ?? 'unknown release'],
    ['Apkovl', summary.overlay ? displayText(summary.overlay.fileName) : 'none'],
    ...(summary.firmware.length > 0 && !summary.firmware.includes('rpi')
      ? ([['Boots', summary.firmware.includes('bios') ? 'BIOS (legacy) and UEFI PCs' : 'UEFI PCs only']] as [
          string,
          string,
        ][])
      : []),
    ...(summary.isoPartition !== null
      ? ([
          [
            'Partition 1',
            `${formatBytes(summary.isoPartition.bytes)} ISO 9660 (Alpine's, read-only): kernel, modloop, packages`,
          ],
        ] as [string, string][])
      : []),
    [
      summary.isoPartition !== null ? 'Partition 2' : 'Partition',
      `${formatBytes(summary.partition.bytes)} FAT32, label ${displayText(summary.filesystem.label)}`,
    ],
    ...(summary.offlinePackages !== null
      ? ([
          [
            'Apk cache',
            `${summary.offlinePackages.packages} packages, ${formatBytes(summary.offlinePackages.packageBytes)}, verified: the machine boots complete without network`,
          ],
        ] as [string, string][])
      : []),
    [
      'Content',
      `${summary.files} files, ${formatBytes(summary.fileBytes)}; ${formatBytes(summary.filesystem.freeBytes)} free`,
    ],
    [
      'Read back',
      summary.verification
        ? `${formatBytes(summary.verification.bytes)} identical${summary.verification.uncached ? ' (from the drive, not a cache)' : ''}`
        : 'not done',
    ],
  ];
  return (
    <>
      <ScreenHeading step="Step 6 of 6">
        {target.kind === 'image' ? 'The image is ready' : 'The card is ready'}
      </ScreenHeading>
      <section aria-label="What to do next" className="next-steps">
        <ol>
          {target.kind === 'image' ? (
            <li>Write the image to a card with any image writer, or open it here again from Verify.</li>
          ) : (
            <li>Eject the card; it is safe to remove.</li>
          )}
          <li>{boardAdvice(machine.board, machine.arch)}</li>
          <li>
            The first boot takes about {minutes} minutes
            {machine.kiosk
              ? summary.offlinePackages !== null
                ? ' (it installs the browser from the card; no network needed)'
                : ' (it downloads the browser once; later boots are quicker)'
              : ''}
            .
          </li>
          <li>
            It calls itself <strong>{hostname}</strong>
            {machine.user !== null && machine.ssh ? (
              <>
                : reach it with{' '}
                <code>
                  ssh {displayText(machine.user)}@{hostname}
                </code>{' '}
                (or its address, which your router lists).
              </>
            ) : (
              '.'
            )}
          </li>
        </ol>
      </section>
      <dl className="facts">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {summary.warnings.map((warning) => (
        <p key={warning} className="warning">
          {displayText(warning)}
        </p>
      ))}
      {target.kind === 'image' && machine.board !== 'rpi' ? (
        <TryInQemu client={client} target={{ kind: 'image', path: target.path }} arch={machine.arch} />
      ) : draft.path !== null && !draft.dirty ? (
        <TryInQemu client={client} target={{ kind: 'definition', path: draft.path }} arch={machine.arch} />
      ) : target.kind === 'image' ? (
        <TryInQemu client={client} target={{ kind: 'image', path: target.path }} arch={machine.arch} />
      ) : null}
    </>
  );
}

/** What happened: a card ready to boot and what to do with it, or what went wrong and what to do. */
export function ResultScreen({
  client,
  outcome,
  draft,
  target,
  onAgain,
  onVerify,
  onMedia,
}: {
  client: Client;
  outcome: WriteOutcome;
  draft: DefinitionDraft;
  target: TargetChoice;
  onAgain: () => void;
  onVerify: () => void;
  onMedia: () => void;
}) {
  const device = target.kind === 'device';
  return (
    <div className="screen">
      <section className={`card result ${outcome.kind}`} aria-labelledby="result-heading">
        {outcome.kind === 'done' ? (
          <Done client={client} summary={outcome.summary} draft={draft} target={target} />
        ) : null}
        {outcome.kind === 'cancelled' ? (
          <>
            <ScreenHeading step="Step 6 of 6">Cancelled</ScreenHeading>
            <p>
              Stopped during the {outcome.phase} step.{' '}
              {device && (outcome.phase === 'write' || outcome.phase === 'verify')
                ? 'The card was only partly written and will not boot: write it again, or erase it to use it for something else.'
                : 'Nothing was written to the card.'}{' '}
              No unfinished download or image file was left behind.
            </p>
          </>
        ) : null}
        {outcome.kind === 'failed' ? (
          <>
            <ScreenHeading step="Step 6 of 6">The card was not made</ScreenHeading>
            <ErrorPanel error={outcome.error} title="What went wrong" />
            <p>
              {device && (outcome.phase === 'write' || outcome.phase === 'verify')
                ? 'Do not boot this card. Try again; if it fails again, try another card or USB port.'
                : 'Nothing usable was written. Do what the message says, then try again.'}
            </p>
          </>
        ) : null}
        <div className="actions">
          {outcome.kind !== 'done' ? (
            <button type="button" className="secondary" onClick={onMedia}>
              Change the boot media
            </button>
          ) : null}
          {outcome.kind === 'done' ? (
            <button type="button" className="secondary" onClick={onVerify}>
              Verify a card
            </button>
          ) : null}
          <button type="button" onClick={onAgain}>
            {outcome.kind === 'done' ? 'Write another card' : 'Try again'}
          </button>
        </div>
      </section>
    </div>
  );
}
