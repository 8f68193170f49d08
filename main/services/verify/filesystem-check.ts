import type { CardFacts, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { Fat32Volume } from '../image/fat-reader.js';
import type { MbrPartition } from '../image/mbr.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { formatVolumeId } from '../build/write-card.js';
import { CardReader } from './card-reader.js';
import { walkVolume } from './card-walk.js';
import { count, makeCheck, problem } from './checks.js';
import type { VerifyMedium } from './medium.js';

export interface FilesystemResult {
  check: VerifyCheck;
  /** The card's files, or null when the volume cannot be read at all. */
  reader: CardReader | null;
  volume: CardFacts['volume'];
  freeBytes: number | null;
}

const TITLE = 'FAT32 file system';

/**
 * The file system of the card's partition, and its files.
 *
 * The seam for the FAT32 consistency checker (branch i7-fatcheck, `checkFat32`): until it is
 * merged, this opens the volume with the project's reader (boot sector, FSInfo, backup boot
 * sector) and walks every folder and chain the files need; cross-links, lost clusters, the FAT
 * copies and free-cluster counts are the checker's, and are reported as not checked.
 */
export async function checkFilesystem(
  medium: VerifyMedium,
  partition: MbrPartition,
  signal?: AbortSignal,
): Promise<FilesystemResult> {
  let volume: Fat32Volume;
  try {
    volume = await Fat32Volume.open(medium, partition.start * SECTOR_SIZE, partition.sectors * SECTOR_SIZE);
  } catch (error) {
    return {
      check: makeCheck('filesystem', TITLE, {
        summary: 'the FAT32 volume cannot be read',
        problems: [
          problem('damage', (error as Error).message, {
            ranges: [{ start: partition.start * SECTOR_SIZE, end: partition.start * SECTOR_SIZE + SECTOR_SIZE }],
            hint: 'the card holds no readable file system: write it again (apkovl build)',
          }),
        ],
      }),
      reader: null,
      volume: null,
      freeBytes: null,
    };
  }
  const walked = await walkVolume(volume);
  const problems: VerifyProblem[] = [
    ...walked.problems,
    ...volume.warnings.map((warning) =>
      problem('warning', warning, { hint: 'systems repair this bookkeeping themselves; fsck.fat -a does it at once' }),
    ),
  ];
  const folders = walked.files.filter((file) => file.isDirectory).length;
  const geometry = { dataOffset: volume.clusterPosition(2), clusterSize: volume.clusterSize };
  const label = volume.label === '' || volume.label === 'NO NAME' ? null : volume.label;
  return {
    check: makeCheck('filesystem', TITLE, {
      summary: `${count(walked.files.length - folders, 'file')} in ${count(folders + 1, 'folder')}, ${volume.clusterCount} clusters of ${volume.clusterSize} bytes`,
      details: ['cross-links, lost clusters and the FAT copies are not checked by this build'],
      problems,
    }),
    reader: new CardReader(medium, geometry, walked.files, signal),
    volume: {
      label,
      serial: formatVolumeId(volume.bootSector.volumeId),
      clusterSize: volume.clusterSize,
      clusters: volume.clusterCount,
    },
    freeBytes:
      volume.fsInfo === null || volume.fsInfo.freeClusters > volume.clusterCount
        ? null
        : volume.fsInfo.freeClusters * volume.clusterSize,
  };
}
