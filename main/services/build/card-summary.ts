import { AppError } from '../../../shared/errors.js';
import type { CardFilesystem, CardPartition } from '../../../shared/model/build-image.js';
import { identityDifferences, type DeviceIdentity } from '../../../shared/model/device-identity.js';
import { displayText } from '../../../shared/rules/display.js';
import { readDeviceIdentity } from '../flash/device-identity.js';
import { PARTITION_TYPE_FAT32_LBA, SECTOR_SIZE } from '../image/constants.js';
import type { WriteCardResult } from '../image/card-writer.js';
import { formatVolumeId } from './write-card.js';

/** The partition and file system a card write made, as the summaries report them. */
export function describeCard(
  written: Pick<WriteCardResult, 'layout' | 'stats'> & { isoPartition?: { startLba: number } | null },
  label: string,
): { partition: CardPartition; filesystem: CardFilesystem } {
  const { layout, stats } = written;
  return {
    partition: {
      startLba: layout.partitionStartLba,
      sectors: layout.partitionSectors,
      bytes: layout.partitionSectors * SECTOR_SIZE,
      type: PARTITION_TYPE_FAT32_LBA,
      bootable: (written.isoPartition ?? null) === null,
    },
    filesystem: {
      type: 'FAT32',
      label,
      volumeId: formatVolumeId(stats.volumeId),
      clusterSize: stats.clusterSize,
      clusters: stats.clusterCount,
      freeBytes: stats.freeBytes,
    },
  };
}

/** The device at `path` now, refused unless it is the one the user confirmed. */
export async function confirmedIdentity(path: string, confirmed: DeviceIdentity): Promise<DeviceIdentity> {
  const identity = await readDeviceIdentity(path);
  const changed = identityDifferences(confirmed, identity);
  if (changed.length > 0) {
    throw new AppError(
      'invalid-input',
      `${displayText(path)} is not the drive that was confirmed: ${changed.join(', ')}`,
      {
        location: path,
        hint: 'the card or stick was changed; choose it again (nothing was written)',
      },
    );
  }
  return identity;
}
