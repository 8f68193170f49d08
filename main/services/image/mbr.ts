import { AppError } from '../../../shared/errors.js';
import { MAX_MBR_SECTORS, SECTOR_SIZE } from './constants.js';
import { bootMessageCode } from './boot-message.js';

export interface MbrPartition {
  /** First sector (LBA). */
  start: number;
  /** Length in sectors. */
  sectors: number;
  type: number;
  bootable: boolean;
}

export interface Mbr {
  diskSignature: number;
  partitions: MbrPartition[];
  /**
   * Boot code for bytes 0-439 (syslinux's mbr.bin on a BIOS+UEFI stick); default: a message
   * that the disk does not boot in legacy BIOS mode.
   */
  bootCode?: Buffer;
}

const TABLE_OFFSET = 446;
const ENTRY_SIZE = 16;

/** CHS for an LBA with the usual 255 heads x 63 sectors translation; 1023/254/63 past the limit. */
function chs(lba: number): [number, number, number] {
  const heads = 255;
  const sectorsPerTrack = 63;
  let cylinder = Math.floor(lba / (heads * sectorsPerTrack));
  let head = Math.floor(lba / sectorsPerTrack) % heads;
  let sector = (lba % sectorsPerTrack) + 1;
  if (cylinder > 1023) {
    cylinder = 1023;
    head = 254;
    sector = 63;
  }
  return [head, ((cylinder >> 2) & 0xc0) | sector, cylinder & 0xff];
}

/**
 * The 512-byte master boot record: a short message for BIOSes that try to boot it (the card
 * boots through the Raspberry Pi firmware or UEFI, never through this code), a disk signature,
 * up to four partition entries and the 55 AA signature.
 */
export function encodeMbr(mbr: Mbr): Buffer {
  if (mbr.partitions.length > 4) {
    throw new AppError('internal', 'an MBR holds at most four partitions');
  }
  const sector = Buffer.alloc(SECTOR_SIZE);
  if (mbr.bootCode !== undefined && mbr.bootCode.length > 440) {
    throw new AppError('internal', 'MBR boot code is longer than 440 bytes');
  }
  (mbr.bootCode ?? bootMessageCode('This disk boots with UEFI or the Raspberry Pi firmware only.')).copy(sector, 0);
  sector.writeUInt32LE(mbr.diskSignature >>> 0, 440);
  mbr.partitions.forEach((partition, index) => {
    if (partition.start < 1 || partition.sectors < 1) {
      throw new AppError('internal', `partition ${index + 1} is empty or starts at sector 0`);
    }
    if (partition.start + partition.sectors > MAX_MBR_SECTORS) {
      throw new AppError('internal', `partition ${index + 1} ends past the MBR's 2 TiB limit`);
    }
    const at = TABLE_OFFSET + index * ENTRY_SIZE;
    sector[at] = partition.bootable ? 0x80 : 0x00;
    Buffer.from(chs(partition.start)).copy(sector, at + 1);
    sector[at + 4] = partition.type;
    Buffer.from(chs(partition.start + partition.sectors - 1)).copy(sector, at + 5);
    sector.writeUInt32LE(partition.start, at + 8);
    sector.writeUInt32LE(partition.sectors, at + 12);
  });
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Read an MBR; null when the sector has no 55 AA signature. Empty entries are left out. */
export function decodeMbr(sector: Buffer): Mbr | null {
  if (sector.length < SECTOR_SIZE || sector[510] !== 0x55 || sector[511] !== 0xaa) return null;
  const partitions: MbrPartition[] = [];
  for (let index = 0; index < 4; index += 1) {
    const at = TABLE_OFFSET + index * ENTRY_SIZE;
    const type = sector[at + 4] ?? 0;
    const start = sector.readUInt32LE(at + 8);
    const sectors = sector.readUInt32LE(at + 12);
    if (type === 0 || sectors === 0) continue;
    partitions.push({ start, sectors, type, bootable: sector[at] === 0x80 });
  }
  return { diskSignature: sector.readUInt32LE(440), partitions };
}
