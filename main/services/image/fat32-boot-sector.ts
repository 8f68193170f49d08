import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import { SECTOR_SIZE } from './constants.js';
import type { Fat32Geometry } from './fat32-geometry.js';
import { bootMessageCode } from './boot-message.js';

export const ROOT_CLUSTER = 2;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;

export interface BootSectorFields {
  geometry: Fat32Geometry;
  /** Sectors before the volume on the disk (the partition's start LBA). */
  hiddenSectors: number;
  volumeId: number;
  /** Up to 11 characters, upper-case ASCII. */
  volumeLabel: string;
}

/** Pad a label to the 11 bytes FAT stores, refusing what FAT cannot hold. */
export function encodeVolumeLabel(label: string): Buffer {
  if (!/^[A-Z0-9 !#$%&'()\-@^_`{}~]{1,11}$/.test(label) || label.startsWith(' ')) {
    throw new AppError('invalid-input', `"${displayText(label)}" cannot be a FAT volume label`, {
      location: 'label',
      hint: 'use 1 to 11 upper-case letters, digits, - or _',
    });
  }
  if (label.trim().toUpperCase() === 'CIDATA') {
    throw new AppError('invalid-input', 'the label CIDATA switches on tiny-cloud at boot', {
      location: 'label',
      hint: 'choose another label',
    });
  }
  return Buffer.from(label.padEnd(11, ' '), 'latin1');
}

/** The FAT32 boot sector (BPB) of Microsoft's FAT specification. */
export function encodeBootSector(fields: BootSectorFields): Buffer {
  const { geometry } = fields;
  const sector = Buffer.alloc(SECTOR_SIZE);
  sector.set([0xeb, 0x58, 0x90], 0); // jmp short 0x5A; nop
  sector.write('MSWIN4.1', 3, 'latin1'); // the OEM name the specification recommends
  sector.writeUInt16LE(SECTOR_SIZE, 11);
  sector[13] = geometry.sectorsPerCluster;
  sector.writeUInt16LE(geometry.reservedSectors, 14);
  sector[16] = geometry.fatCount;
  sector.writeUInt16LE(0, 17); // root entries: 0 on FAT32
  sector.writeUInt16LE(0, 19); // total sectors (16-bit): 0 on FAT32
  sector[21] = 0xf8; // media: fixed disk
  sector.writeUInt16LE(0, 22); // FAT size (16-bit): 0 on FAT32
  sector.writeUInt16LE(63, 24); // sectors per track
  sector.writeUInt16LE(255, 26); // heads
  sector.writeUInt32LE(fields.hiddenSectors, 28);
  sector.writeUInt32LE(geometry.totalSectors, 32);
  sector.writeUInt32LE(geometry.sectorsPerFat, 36);
  sector.writeUInt16LE(0, 40); // flags: FATs mirrored
  sector.writeUInt16LE(0, 42); // version 0.0
  sector.writeUInt32LE(ROOT_CLUSTER, 44);
  sector.writeUInt16LE(FSINFO_SECTOR, 48);
  sector.writeUInt16LE(BACKUP_BOOT_SECTOR, 50);
  sector[64] = 0x80; // drive number
  sector[66] = 0x29; // extended boot signature
  sector.writeUInt32LE(fields.volumeId >>> 0, 67);
  encodeVolumeLabel(fields.volumeLabel).copy(sector, 71);
  sector.write('FAT32   ', 82, 'latin1');
  bootMessageCode('This is the boot partition of an Alpine Linux card; it is not BIOS-bootable.', 0x5a).copy(
    sector,
    0x5a,
  );
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

export interface FsInfo {
  freeClusters: number;
  nextFreeCluster: number;
}

export function encodeFsInfo(info: FsInfo): Buffer {
  const sector = Buffer.alloc(SECTOR_SIZE);
  sector.writeUInt32LE(0x41615252, 0);
  sector.writeUInt32LE(0x61417272, 484);
  sector.writeUInt32LE(info.freeClusters >>> 0, 488);
  sector.writeUInt32LE(info.nextFreeCluster >>> 0, 492);
  sector.writeUInt32LE(0xaa550000, 508);
  return sector;
}

/** The fields of a FAT32 boot sector as read from a card, before any judgement. */
export interface BootSector {
  oemName: string;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: number;
  rootEntries: number;
  totalSectors16: number;
  media: number;
  sectorsPerFat16: number;
  hiddenSectors: number;
  totalSectors32: number;
  sectorsPerFat32: number;
  extFlags: number;
  version: number;
  rootCluster: number;
  fsInfoSector: number;
  backupBootSector: number;
  bootSignature: number;
  volumeId: number;
  volumeLabel: string;
  fileSystemType: string;
  signature: boolean;
}

export function decodeBootSector(sector: Buffer): BootSector {
  return {
    oemName: sector.toString('latin1', 3, 11),
    bytesPerSector: sector.readUInt16LE(11),
    sectorsPerCluster: sector[13] ?? 0,
    reservedSectors: sector.readUInt16LE(14),
    fatCount: sector[16] ?? 0,
    rootEntries: sector.readUInt16LE(17),
    totalSectors16: sector.readUInt16LE(19),
    media: sector[21] ?? 0,
    sectorsPerFat16: sector.readUInt16LE(22),
    hiddenSectors: sector.readUInt32LE(28),
    totalSectors32: sector.readUInt32LE(32),
    sectorsPerFat32: sector.readUInt32LE(36),
    extFlags: sector.readUInt16LE(40),
    version: sector.readUInt16LE(42),
    rootCluster: sector.readUInt32LE(44),
    fsInfoSector: sector.readUInt16LE(48),
    backupBootSector: sector.readUInt16LE(50),
    bootSignature: sector[66] ?? 0,
    volumeId: sector.readUInt32LE(67),
    volumeLabel: sector.toString('latin1', 71, 82).trimEnd(),
    fileSystemType: sector.toString('latin1', 82, 90).trimEnd(),
    signature: sector[510] === 0x55 && sector[511] === 0xaa,
  };
}

export function decodeFsInfo(sector: Buffer): FsInfo & { valid: boolean } {
  const valid =
    sector.readUInt32LE(0) === 0x41615252 &&
    sector.readUInt32LE(484) === 0x61417272 &&
    sector.readUInt32LE(508) === 0xaa550000;
  return {
    valid,
    freeClusters: sector.readUInt32LE(488),
    nextFreeCluster: sector.readUInt32LE(492),
  };
}
