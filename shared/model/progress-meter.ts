import type { ProgressEvent, ProgressListener, ProgressPhase } from './progress.js';

export interface ProgressMeterOptions {
  phase: ProgressPhase;
  label: string;
  total: number | null;
  listener: ProgressListener;
  /** Milliseconds; injected so the meter stays pure and testable. */
  now: () => number;
  /** Minimum milliseconds between two events (the last one is always sent). */
  intervalMs?: number;
  /** Length of the window the rate is averaged over, in milliseconds. */
  windowMs?: number;
}

/**
 * Turns a stream of "n more units done" into throttled progress events with a rate and an ETA.
 * The rate is averaged over a sliding window so a stall shows up within seconds.
 */
export class ProgressMeter {
  private readonly options: Required<ProgressMeterOptions>;
  private done = 0;
  private lastSent = Number.NEGATIVE_INFINITY;
  private readonly samples: { time: number; bytes: number }[] = [];

  constructor(options: ProgressMeterOptions) {
    this.options = { intervalMs: 200, windowMs: 3000, ...options };
    this.samples.push({ time: options.now(), bytes: 0 });
  }

  get bytes(): number {
    return this.done;
  }

  /** Record `bytes` more units done. */
  advance(bytes: number): void {
    this.update(this.done + bytes);
  }

  /** Record the absolute count done. */
  update(bytes: number): void {
    this.done = bytes;
    const time = this.options.now();
    if (time - this.lastSent >= this.options.intervalMs) this.emit(time);
  }

  /** Send the final state now, whatever the throttle says. */
  finish(): void {
    this.emit(this.options.now());
  }

  private emit(time: number): void {
    this.lastSent = time;
    this.samples.push({ time, bytes: this.done });
    while (this.samples.length > 2 && time - (this.samples[1]?.time ?? time) > this.options.windowMs) {
      this.samples.shift();
    }
    const first = this.samples[0] ?? { time, bytes: 0 };
    const elapsed = (time - first.time) / 1000;
    const rate = elapsed > 0.05 ? (this.done - first.bytes) / elapsed : null;
    const total = this.options.total;
    const eta = rate !== null && rate > 0 && total !== null ? Math.max(0, (total - this.done) / rate) : null;
    const event: ProgressEvent = {
      phase: this.options.phase,
      label: this.options.label,
      bytes: this.done,
      total,
      bytesPerSecond: rate,
      etaSeconds: eta,
    };
    this.options.listener(event);
  }
}
