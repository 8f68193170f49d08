import { z } from 'zod';
import { architectures } from './targets.js';

/** Whether a machine can be tried here in QEMU, and if not, what to install. */
export const tryCheckSchema = z.object({
  /** A card image made by apkovl build, or a machine definition (netbooted). */
  kind: z.enum(['image', 'definition']),
  arch: z.enum(architectures),
});
export const tryAvailabilitySchema = z.object({
  available: z.boolean(),
  /** What is missing and the package to install, when not available. */
  reason: z.string().nullable(),
  /** Said before it starts: e.g. that emulation without KVM is slow. */
  note: z.string().nullable(),
});

/** Boot a card image (snapshot: never changed) or netboot a definition in QEMU, in a window. */
export const tryRequestSchema = z.strictObject({
  target: z.string().trim().min(1),
  /** SeaBIOS instead of UEFI (BIOS+UEFI stick images). */
  bios: z.boolean().default(false),
  /** A window for the machine's screen (the app always wants one; tests run headless). */
  display: z.boolean().default(true),
  /** How an image is attached (default: a USB stick). */
  disk: z.enum(['usb', 'virtio']).optional(),
  /** false: never KVM (a host whose KVM is broken). */
  kvm: z.boolean().optional(),
  memoryMiB: z.number().int().optional(),
});
export type TryRequest = z.infer<typeof tryRequestSchema>;

export const tryOutcomeSchema = z.object({
  mode: z.enum(['image', 'netboot']),
  /** QEMU's exit status; null when it was stopped. */
  exitCode: z.number().nullable(),
  hostname: z.string().nullable(),
});
