import type { ProgressEvent } from '../../shared/model/progress.js';
import { formatBytes } from '../../shared/model/size.js';

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const whole = Math.ceil(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')} left`;
}

export function ProgressBar({ progress }: { progress: ProgressEvent }) {
  const fraction = progress.total ? Math.min(1, progress.bytes / progress.total) : null;
  return (
    <div className="progress" role="group" aria-label="Progress">
      <div className="progress-label">
        <strong>{progress.label}</strong>
        <span className="muted">
          {progress.total ? `${formatBytes(progress.bytes)} of ${formatBytes(progress.total)}` : ''}
          {progress.bytesPerSecond ? ` · ${(progress.bytesPerSecond / 1e6).toFixed(0)} MB/s` : ''}
          {progress.etaSeconds !== null ? ` · ${eta(progress.etaSeconds)}` : ''}
        </span>
      </div>
      <div
        className={`progress-track${fraction === null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
      >
        <div
          className="progress-fill"
          style={{ width: fraction === null ? '100%' : `${(fraction * 100).toFixed(1)}%` }}
        />
      </div>
    </div>
  );
}
