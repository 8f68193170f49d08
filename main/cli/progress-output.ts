import { encodeWire } from '../../shared/ipc/wire-format.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';
import { displayMessage } from '../../shared/rules/display.js';

export interface Output {
  progress(event: ProgressEvent): void;
  /** Something to tell while a job runs: a retry, a wait. */
  note(text: string): void;
  /** End any progress line before other output. */
  settle(): void;
}

/** The job id a command line's events carry (the worker's carry the client's ids). */
export const CLI_JOB_ID = 'cli';

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
    note(text) {
      if (active) stream.write('\n');
      active = false;
      stream.write(`note: ${displayMessage(text)}\n`);
    },
    settle() {
      if (active) stream.write('\n');
      active = false;
    },
  };
}

/** The contract's events as JSON lines on stdout, as `apkovl worker` sends them. */
export function jsonOutput(stream: NodeJS.WritableStream): Output {
  return {
    progress(event) {
      stream.write(
        encodeWire({ type: 'event', name: 'job.progress', payload: { jobId: CLI_JOB_ID, progress: event } }),
      );
    },
    note(text) {
      stream.write(encodeWire({ type: 'event', name: 'job.note', payload: { jobId: CLI_JOB_ID, text } }));
    },
    settle() {},
  };
}

/** No progress bar (output is not a terminal and JSON was not asked for); notes still go to stderr. */
export function quietOutput(stream: NodeJS.WritableStream): Output {
  return {
    progress() {},
    note(text) {
      stream.write(`note: ${displayMessage(text)}\n`);
    },
    settle() {},
  };
}
