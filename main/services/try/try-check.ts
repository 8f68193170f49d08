import { AppError } from '../../../shared/errors.js';
import type { Architecture } from '../../../shared/model/targets.js';
import { findOvmf, kvmUsable, requireQemu, requireSeabios, slowWarning } from './qemu-host.js';

export interface TryAvailability {
  available: boolean;
  reason: string | null;
  note: string | null;
}

function missing(error: unknown): TryAvailability {
  if (!(error instanceof AppError)) throw error;
  return { available: false, reason: `${error.message}${error.hint ? `: ${error.hint}` : ''}`, note: null };
}

/**
 * Whether `apkovl try` can run here for a card image or a definition of `arch`: QEMU for the
 * machine's architecture, and for an image a firmware to boot it with; with a note when it will
 * run emulated (slow). Nothing is started.
 */
export async function tryAvailability(
  kind: 'image' | 'definition',
  arch: Architecture,
  env: Readonly<Record<string, string | undefined>>,
): Promise<TryAvailability> {
  if (kind === 'image' && arch !== 'x86_64') {
    return {
      available: false,
      reason: 'a Raspberry Pi card image does not boot in QEMU; its definition can be netbooted instead',
      note: null,
    };
  }
  if (arch !== 'x86_64' && arch !== 'aarch64') {
    return {
      available: false,
      reason: `QEMU netboots x86_64 and aarch64 machines; this one is ${arch} (Pi 3 to 5 also boot aarch64)`,
      note: null,
    };
  }
  try {
    requireQemu(arch, env);
    if (kind === 'image' && findOvmf() === null) requireSeabios();
  } catch (error) {
    return missing(error);
  }
  const kvm = await kvmUsable(arch);
  return { available: true, reason: null, note: kvm.usable || kvm.why === null ? null : slowWarning(arch, kvm.why) };
}
