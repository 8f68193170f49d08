import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';

export interface Output {
  progress(event: ProgressEvent): void;
  /** End any progress line before other output. */
  settle(): void;
}

function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '' : `${(bytesPerSecond / 1e6).toFixed(bytesPerSecond >= 1e8 ? 0 : 1)} MB/s`;
}

function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const whole = Math.ceil(seconds);
  return `ETA ${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** One progress line, e.g. `Writing boot files [#####.....] 52% 55 MiB/107 MiB 210 MB/s ETA 0:01`. */
export function renderProgressLine(event: ProgressEvent, width: number): string {
  const parts: string[] = [event.label];
  if (event.total !== null && event.total > 0) {
    const fraction = Math.min(1, event.bytes / event.total);
    const barWidth = Math.max(10, Math.min(30, width - 70));
    const filled = Math.round(fraction * barWidth);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`, `${Math.floor(fraction * 100)}%`);
    parts.push(`${formatBytes(event.bytes)}/${formatBytes(event.total)}`);
  } else if (event.bytes > 0) {
    parts.push(formatBytes(event.bytes));
  }
  const rate = formatRate(event.bytesPerSecond);
  if (rate) parts.push(rate);
  const eta = formatEta(event.etaSeconds);
  if (eta) parts.push(eta);
  return parts.join('  ').slice(0, Math.max(20, width - 1));
}

/** A redrawn bar on a terminal (stderr). */
export function terminalOutput(stream: NodeJS.WriteStream): Output {
  let active = false;
  let lastLabel = '';
  return {
    progress(event) {
      if (active && event.label !== lastLabel) stream.write('\n');
      lastLabel = event.label;
      stream.write(`\r\x1b[2K${renderProgressLine(event, stream.columns || 100)}`);
      active = true;
    },
    settle() {
      if (active) stream.write('\n');
      active = false;
    },
  };
}

/** JSON lines on stdout: `{"type":"progress",...}` per event. */
export function jsonOutput(stream: NodeJS.WritableStream): Output {
  return {
    progress(event) {
      stream.write(`${JSON.stringify({ type: 'progress', ...event })}\n`);
    },
    settle() {},
  };
}

/** No progress at all (output is not a terminal and JSON was not asked for). */
export function silentOutput(): Output {
  return { progress() {}, settle() {} };
}
