import type { OverlayEntry } from './overlay-entry.js';

export const runlevels = ['sysinit', 'boot', 'default', 'shutdown'] as const;
export type Runlevel = (typeof runlevels)[number];

/** What one part of the definition adds to the overlay. */
export interface Contribution {
  entries: OverlayEntry[];
  packages: string[];
  services: Partial<Record<Runlevel, string[]>>;
}

export function contribution(part: Partial<Contribution> = {}): Contribution {
  return { entries: part.entries ?? [], packages: part.packages ?? [], services: part.services ?? {} };
}
