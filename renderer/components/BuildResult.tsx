import type { BuildSummary } from '../../shared/model/build-image.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayText } from '../../shared/rules/display.js';

export function BuildResult({ summary }: { summary: BuildSummary }) {
  const rows: [string, string][] = [
    ['Image', `${summary.output} (${formatBytes(summary.imageBytes)})`],
    ['Alpine', summary.alpineRelease ?? 'unknown release'],
    [
      'Partition',
      `${formatBytes(summary.partition.bytes)} FAT32 at 1 MiB, type 0x${summary.partition.type.toString(16).padStart(2, '0').toUpperCase()}, bootable`,
    ],
    [
      'Volume',
      `label ${summary.filesystem.label}, serial ${summary.filesystem.volumeId}, ${formatBytes(summary.filesystem.clusterSize)} clusters`,
    ],
    ['Content', `${summary.files} files in ${summary.directories} folders, ${formatBytes(summary.fileBytes)}`],
    ['Overlay', summary.overlay ? displayText(summary.overlay.fileName) : 'none'],
    ['Free space', formatBytes(summary.filesystem.freeBytes)],
  ];
  // Names from the boot media: control characters and direction overrides shown as escapes.
  for (const name of summary.dropped) rows.push(['Removed', `${displayText(name)} (shipped with the boot media)`]);
  return (
    <section className="result" aria-label="Result">
      <h2>Card image ready</h2>
      <p className="muted">Built in {summary.seconds.toFixed(2)} s. Write it to a card with any image writer.</p>
      <dl>
        {rows.map(([term, value]) => (
          <div key={`${term}-${value}`} className="result-row">
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {summary.warnings.map((warning) => (
        <p key={warning} className="warning">
          {warning}
        </p>
      ))}
    </section>
  );
}
