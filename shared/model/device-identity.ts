import { z } from 'zod';

/**
 * What a block device was when the user confirmed it: the device a write is for. A target is
 * opened with this identity and compares it with what the path holds right before it writes.
 */
export const deviceIdentitySchema = z.object({
  /** The path the user chose: `/dev/sdb`, `/dev/mmcblk0`, `/dev/loop3`. */
  path: z.string().min(1),
  /** The kernel's name for it: `sdb`. */
  name: z.string(),
  /** `major:minor`, the device number the path resolves to. */
  deviceNumber: z.string().regex(/^\d+:\d+$/),
  /** Size in bytes. */
  size: z.number().int().nonnegative(),
  /** The smallest unit the device reads and writes, in bytes (512 or 4096). */
  logicalBlockSize: z.number().int().positive(),
  /** Vendor and model as the device reports them, or null. */
  model: z.string().nullable(),
  /**
   * What tells this medium from another in the same slot, or null: an SD card's CID, a disk's
   * serial number, a loop device's backing file.
   */
  serial: z.string().nullable(),
  /** The kernel's disk sequence number: new for every medium inserted and every loop attach. */
  diskSequence: z.number().int().nullable(),
  readOnly: z.boolean(),
  removable: z.boolean(),
});
export type DeviceIdentity = z.infer<typeof deviceIdentitySchema>;

/** The fields that must not change between confirmation and writing. */
const compared = ['deviceNumber', 'size', 'logicalBlockSize', 'serial', 'diskSequence'] as const;

const labels: Record<(typeof compared)[number], string> = {
  deviceNumber: 'device number',
  size: 'size',
  logicalBlockSize: 'logical block size',
  serial: 'serial',
  diskSequence: 'disk sequence number',
};

/**
 * How `actual` differs from `expected`, one phrase per changed field ("size 1073741824 ->
 * 536870912"); empty when it is the same device and medium. A field the device does not report
 * (null on both sides) is not a difference; one that appears or disappears is.
 */
export function identityDifferences(expected: DeviceIdentity, actual: DeviceIdentity): string[] {
  const differences: string[] = [];
  for (const field of compared) {
    const before = expected[field];
    const after = actual[field];
    if (before !== after) differences.push(`${labels[field]} ${show(before)} -> ${show(after)}`);
  }
  return differences;
}

function show(value: string | number | null): string {
  return value === null ? 'unknown' : typeof value === 'string' ? `"${value}"` : String(value);
}
