import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const whole = Math.ceil(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')} left`;
}

export function formatSpeed(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || bytesPerSecond <= 0) return '';
  return bytesPerSecond >= 1e6
    ? `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`
    : `${(bytesPerSecond / 1e3).toFixed(0)} kB/s`;
}

/** Bytes, speed and time left of one step, with a bar. */
export function ProgressBar({ progress, label }: { progress: ProgressEvent; label?: string }) {
  const fraction = progress.total ? Math.min(1, progress.bytes / progress.total) : null;
  const parts = [
    progress.total ? `${formatBytes(progress.bytes)} of ${formatBytes(progress.total)}` : formatBytes(progress.bytes),
    formatSpeed(progress.bytesPerSecond),
    formatEta(progress.etaSeconds),
  ].filter((part) => part !== '');
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{progress.label}</span>
        <span className="muted">{parts.join(' · ')}</span>
      </div>
      <div
        className={`progress-track${fraction === null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-label={label ?? progress.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
        aria-valuetext={parts.join(', ')}
      >
        <div
          className="progress-fill"
          style={{ width: fraction === null ? '100%' : `${(fraction * 100).toFixed(1)}%` }}
        />
      </div>
    </div>
  );
}
