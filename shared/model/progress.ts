/** Progress of a long step, the same shape for the CLI, the app and the tests. */
export const progressPhases = ['download', 'build', 'probe', 'write', 'verify', 'done'] as const;
export type ProgressPhase = (typeof progressPhases)[number];

export interface ProgressEvent {
  phase: ProgressPhase;
  /** What is happening, for a person: "Writing boot files". */
  label: string;
  /** Units done so far (bytes unless stated). */
  bytes: number;
  /** Units in all, or null when unknown. */
  total: number | null;
  /** Average rate over the last seconds, units per second; null until measurable. */
  bytesPerSecond: number | null;
  /** Seconds left at the current rate; null when unknown. */
  etaSeconds: number | null;
}

export type ProgressListener = (event: ProgressEvent) => void;
