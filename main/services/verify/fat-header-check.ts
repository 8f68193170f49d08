import { AppError } from '../../../shared/errors.js';
import { SECTOR_SIZE } from '../image/constants.js';
import { Fat32Volume, type ReadableMedium } from '../image/fat-reader.js';
import { decodeBootSector, decodeFsInfo, type FsInfo } from '../image/fat32-boot-sector.js';
import { finding, groupDigits, showList, type FatFinding } from './fat-findings.js';
import { fatLayout, type FatLayout } from './fat-layout.js';
import { readAt } from './medium-bytes.js';

const REWRITE = 'write the card again (apkovl build)';

/** The boot sector's fields by byte offset, to say what differs in a backup. */
const BOOT_SECTOR_FIELDS: readonly [start: number, end: number, name: string][] = [
  [0, 3, 'jump instruction'],
  [3, 11, 'OEM name'],
  [11, 36, 'geometry (BIOS parameter block)'],
  [36, 40, 'FAT size'],
  [40, 44, 'FAT flags and version'],
  [44, 52, 'root cluster, FSInfo and backup sector numbers'],
  [52, 64, 'reserved bytes'],
  [64, 67, 'drive number and signature'],
  [67, 71, 'volume serial'],
  [71, 82, 'volume label'],
  [82, 90, 'file system type'],
  [90, 510, 'boot code'],
  [510, 512, '55 AA signature'],
];

function differingFields(left: Buffer, right: Buffer): string[] {
  return BOOT_SECTOR_FIELDS.filter(([start, end]) => !left.subarray(start, end).equals(right.subarray(start, end))).map(
    ([, , name]) => name,
  );
}

export interface HeaderCheck {
  layout: FatLayout;
  label: string;
  volumeId: number;
  /** The FSInfo sector, when its signatures are right. */
  fsInfo: FsInfo | null;
  /** Linux's dirty flag in the boot sector. */
  dirty: boolean;
}

/**
 * The partition against the medium, the boot sector (through the reader's checks), its backup
 * and the FSInfo sector's signatures. Null when the boot sector is unusable: without it no
 * cluster can be found.
 */
export async function checkHeader(
  medium: ReadableMedium,
  offset: number,
  length: number,
  findings: FatFinding[],
): Promise<HeaderCheck | null> {
  if (offset + length > medium.size) {
    findings.push(
      finding(
        'damage',
        'partition-exceeds-medium',
        `the partition ends at byte ${groupDigits(offset + length)} but the ${medium.size === 0 ? 'medium is empty' : `medium ends at byte ${groupDigits(medium.size)}`}`,
        'the image or card is truncated, or the card is smaller than it claims (a fake-capacity card): write it again on a genuine card',
        { ranges: [{ start: Math.min(medium.size, offset + length), end: offset + length }] },
      ),
    );
  }
  const sector = await readAt(medium, offset, SECTOR_SIZE);
  const boot = sector.length === SECTOR_SIZE ? decodeBootSector(sector) : null;
  if (boot !== null && boot.signature && boot.bytesPerSector > 0) {
    const volumeBytes = boot.totalSectors32 * boot.bytesPerSector;
    if (volumeBytes > length) {
      findings.push(
        finding(
          'damage',
          'volume-exceeds-partition',
          `the FAT volume claims ${groupDigits(volumeBytes)} bytes but its partition has ${groupDigits(length)}`,
          `the partition table or the boot sector is wrong: ${REWRITE}`,
          { ranges: [{ start: offset, end: offset + SECTOR_SIZE }] },
        ),
      );
      return null;
    }
  }
  let volume: Fat32Volume;
  try {
    volume = await Fat32Volume.open(medium, offset, length);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'invalid-media') throw error;
    findings.push(
      finding(
        'damage',
        'boot-sector-invalid',
        `the boot sector at byte ${groupDigits(offset)} is not a usable FAT32 boot sector: ${error.message}`,
        `without it no file can be found; ${REWRITE}`,
        { ranges: [{ start: offset, end: offset + SECTOR_SIZE }] },
      ),
    );
    return null;
  }
  const bootSector = volume.bootSector;
  const layout = fatLayout(bootSector, offset, length);
  const unused = length - bootSector.totalSectors32 * bootSector.bytesPerSector;
  if (unused >= layout.clusterSize) {
    findings.push(
      finding(
        'info',
        'volume-smaller-than-partition',
        `the FAT volume leaves the last ${groupDigits(unused)} bytes of its partition unused`,
        'nothing to do; a new format would use them',
      ),
    );
  }
  await checkBackup(medium, layout, bootSector.backupBootSector, bootSector.reservedSectors, sector, findings);
  const fsInfo = await checkFsInfo(medium, layout, bootSector.fsInfoSector, bootSector.reservedSectors, findings);
  return {
    layout,
    label: bootSector.volumeLabel,
    volumeId: bootSector.volumeId,
    fsInfo,
    dirty: ((sector[65] ?? 0) & 0x01) !== 0,
  };
}

async function checkBackup(
  medium: ReadableMedium,
  layout: FatLayout,
  backupSector: number,
  reservedSectors: number,
  sector: Buffer,
  findings: FatFinding[],
): Promise<void> {
  if (backupSector === 0 || backupSector === 0xffff || backupSector >= reservedSectors) {
    findings.push(
      finding(
        'warning',
        'backup-boot-sector-missing',
        backupSector === 0 || backupSector === 0xffff
          ? 'the boot sector names no backup boot sector'
          : `the boot sector names sector ${backupSector} as its backup, outside the ${reservedSectors} reserved sectors`,
        'nothing reads the backup in daily use; a new format (apkovl build) writes one at sector 6',
        { ranges: [{ start: layout.partitionOffset, end: layout.partitionOffset + SECTOR_SIZE }] },
      ),
    );
    return;
  }
  const position = layout.partitionOffset + backupSector * layout.bytesPerSector;
  const backup = await readAt(medium, position, SECTOR_SIZE);
  if (backup.equals(sector)) return;
  const fields = backup.length === SECTOR_SIZE ? differingFields(sector, backup) : ['everything: it is cut off'];
  findings.push(
    finding(
      'warning',
      'backup-boot-sector-differs',
      `the backup boot sector (sector ${backupSector}) differs from the boot sector in: ${showList(fields)}`,
      'the boot sector is what every system reads, so this is harmless until the backup is needed; fsck.fat can copy the boot sector over it',
      { ranges: [{ start: position, end: position + SECTOR_SIZE }] },
    ),
  );
}

async function checkFsInfo(
  medium: ReadableMedium,
  layout: FatLayout,
  fsInfoSector: number,
  reservedSectors: number,
  findings: FatFinding[],
): Promise<FsInfo | null> {
  const hint = 'systems then count the free space themselves (slower to mount); fsck.fat -a rewrites it';
  if (fsInfoSector === 0 || fsInfoSector === 0xffff || fsInfoSector >= reservedSectors) {
    findings.push(finding('warning', 'fsinfo-invalid', 'the boot sector names no FSInfo sector', hint));
    return null;
  }
  const position = layout.partitionOffset + fsInfoSector * layout.bytesPerSector;
  const data = await readAt(medium, position, SECTOR_SIZE);
  const info = data.length === SECTOR_SIZE ? decodeFsInfo(data) : null;
  if (info === null || !info.valid) {
    findings.push(
      finding('warning', 'fsinfo-invalid', `the FSInfo sector (sector ${fsInfoSector}) has wrong signatures`, hint, {
        ranges: [{ start: position, end: position + SECTOR_SIZE }],
      }),
    );
    return null;
  }
  return info;
}
