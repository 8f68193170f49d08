import type { DriveContext, HeldPath, HeldPathRole } from '../../../shared/model/drive.js';
import { locatePath } from './locate-path.js';

/** What a write depends on, as paths: the services find the drives that hold them. */
export interface TargetContext {
  /** The size of the card to write. */
  neededBytes?: number;
  /** The boot media file, and the other files the card is made from (definition, secrets). */
  source?: string | string[];
  /** The download cache folder. */
  cache?: string;
  /** An output file written beside the device (rare), or any file that must survive. */
  output?: string;
}

/** Locate each path of a target context, for the pure rules. */
export async function driveContext(context: TargetContext): Promise<DriveContext> {
  const roles: HeldPathRole[] = ['source', 'cache', 'output'];
  const held: HeldPath[] = [];
  for (const role of roles) {
    const value = context[role];
    const files = value === undefined ? [] : Array.isArray(value) ? value : [value];
    for (const file of files) held.push({ role, location: await locatePath(file) });
  }
  return { ...(context.neededBytes !== undefined ? { neededBytes: context.neededBytes } : {}), held };
}
