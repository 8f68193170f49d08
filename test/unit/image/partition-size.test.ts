import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors.js';
import { machineSchema } from '../../../shared/model/machine.js';
import { describeFileSpace, MAX_MBR_PARTITION_BYTES } from '../../../shared/model/size.js';
import { checkPartitionSize } from '../../../main/services/image/build-image.js';
import { MAX_PARTITION_SECTORS, SECTOR_SIZE } from '../../../main/services/image/constants.js';
import { computeFat32Geometry, MIN_FAT32_SECTORS } from '../../../main/services/image/fat32-geometry.js';

const MiB = 1 << 20;
const refusal = (bytes: number) => {
  try {
    checkPartitionSize(bytes, 'boot.partition_size');
    return null;
  } catch (error) {
    return error as AppError;
  }
};

describe('partition sizes', () => {
  it('reach exactly to the last sector an MBR can address, 2 TiB - 1 MiB', () => {
    expect(MAX_MBR_PARTITION_BYTES).toBe(MAX_PARTITION_SECTORS * SECTOR_SIZE);
    expect(MAX_MBR_PARTITION_BYTES).toBe(2 * 1024 ** 4 - MiB);
    expect(refusal(MAX_MBR_PARTITION_BYTES)).toBeNull();
    const over = refusal(MAX_MBR_PARTITION_BYTES + SECTOR_SIZE);
    expect(over).toBeInstanceOf(AppError);
    expect(over).toMatchObject({ code: 'invalid-input', location: 'boot.partition_size' });
    expect(over?.message).toMatch(/larger than an MBR can address/);
  });

  it('start at the smallest FAT32 volume and are whole sectors', () => {
    expect(refusal(MIN_FAT32_SECTORS * SECTOR_SIZE)).toBeNull();
    expect(refusal((MIN_FAT32_SECTORS - 1) * SECTOR_SIZE)).toMatchObject({ code: 'too-small' });
    expect(refusal(64 * MiB + 100)).toMatchObject({ code: 'invalid-input', location: 'boot.partition_size' });
  });

  it("are checked in a definition's boot.partition_size", () => {
    const machine = (size: string) =>
      machineSchema.safeParse({
        version: 1,
        hostname: 'big',
        target: { board: 'rpi', arch: 'aarch64' },
        boot: { partition_size: size },
      });
    expect(machine('2097151MiB').success).toBe(true);
    const over = machine('2097152MiB');
    expect(over.success).toBe(false);
    expect(over.error?.issues[0]?.message).toMatch(/larger than an MBR can address: at most 2 TiB - 1 MiB/);
    expect(machine('3TiB').success).toBe(false);
  });

  it('are explained: room for files plus what the FATs and reserved sectors take is the partition', () => {
    const geometry = computeFat32Geometry((1024 * MiB) / SECTOR_SIZE);
    const files = geometry.clusterCount * geometry.clusterSize;
    expect(describeFileSpace(1024 * MiB, files)).toBe('1022 MiB for files, 2.0 MiB for the FATs and reserved sectors');
    // What is not for files is the reserved sectors, the two FATs and less than one cluster.
    const metadata = (geometry.reservedSectors + 2 * geometry.sectorsPerFat) * SECTOR_SIZE;
    expect(1024 * MiB - files - metadata).toBeGreaterThanOrEqual(0);
    expect(1024 * MiB - files - metadata).toBeLessThan(geometry.clusterSize);
  });
});
