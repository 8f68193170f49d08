import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppError, CancelledError } from '../../shared/errors.js';
import type { DeviceIdentity } from '../../shared/model/device-identity.js';
import type { ProgressEvent } from '../../shared/model/progress.js';
import { composeBootMedia, emptyComposeReport } from '../../main/services/boot-media/compose.js';
import { openTarball } from '../../main/services/boot-media/tarball-source.js';
import type { BlockTarget } from '../../main/services/flash/block-target.js';
import { probeCapacity } from '../../main/services/flash/capacity-probe.js';
import { readDeviceIdentity } from '../../main/services/flash/device-identity.js';
import { ABORT_WIPE_BYTES, openDeviceTarget, type DeviceTarget } from '../../main/services/flash/device-target.js';
import { flashDevice } from '../../main/services/flash/flash-device.js';
import { ReadBackError, readBackError, verifyWrittenRanges } from '../../main/services/flash/read-back.js';
import { openUncachedReader } from '../../main/services/flash/uncached-reader.js';
import { RECORD_PIECE_BYTES, recordWrites, type WriteRecord } from '../../main/services/flash/write-record.js';
import { writeCard, type WriteCardResult } from '../../main/services/image/card-writer.js';
import { Fat32Volume, readMbr } from '../../main/services/image/fat-reader.js';
import { fsckFat } from '../helpers/external-tools.js';
import { droppingTarget, wrappingTarget } from '../helpers/fake-capacity.js';
import {
  bytesWrittenBy,
  describeWithLoopDevices,
  dropDeviceCache,
  LoopDevices,
  sfdiskDump,
} from '../helpers/loop-devices.js';
import { createSyntheticRpiMedia, type SyntheticMedia } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const CARD_BYTES = 256 * MiB;

describeWithLoopDevices('writing cards to block devices (loop devices)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let media: SyntheticMedia;
  const loops = new LoopDevices();

  beforeAll(() => {
    temp = makeTempDir();
    media = createSyntheticRpiMedia({ dir: temp.dir, scale: 0.2 });
  });
  afterAll(() => {
    try {
      loops.detachAll();
    } finally {
      temp.cleanup();
    }
  });

  /** A new loop device over a new file of `size` bytes, filled with `fill` where given. */
  function newDevice(name: string, size: number, fill?: number): { device: string; file: string } {
    const file = path.join(temp.dir, `${name}.img`);
    closeSync(openSync(file, 'w'));
    truncateSync(file, size);
    if (fill !== undefined) {
      const descriptor = openSync(file, 'r+');
      const block = Buffer.alloc(MiB, fill);
      for (let position = 0; position < size; position += MiB) writeSync(descriptor, block, 0, MiB, position);
      closeSync(descriptor);
    }
    return { device: loops.attach(file), file };
  }

  async function writeMediaTo(target: BlockTarget): Promise<WriteCardResult> {
    const source = await openTarball(media.tarball);
    const report = emptyComposeReport();
    return writeCard({
      target,
      entries: composeBootMedia(source.entries(), { sourceName: media.tarball }, report),
      volumeLabel: 'ALPINE',
      defaultMtime: 0,
      identity: () => report.identity ?? { volumeId: 1, diskSignature: 1 },
    });
  }

  /** Probe, write, read back, commit: the whole flash as the CLI will run it. */
  async function flash(identity: DeviceIdentity): Promise<{ record: WriteRecord; result: WriteCardResult }> {
    const flashed = await flashDevice({ identity, write: writeMediaTo });
    return { record: flashed.record, result: flashed.written };
  }

  /** Every file on the card, read with the project's FAT reader through an uncached reader. */
  async function filesOn(identity: DeviceIdentity): Promise<Map<string, string>> {
    const { createHash } = await import('node:crypto');
    const reader = await openUncachedReader(identity);
    try {
      const mbr = await readMbr(reader);
      const partition = mbr?.partitions[0];
      if (partition === undefined) throw new Error('no partition');
      const volume = await Fat32Volume.open(reader, partition.start * 512, partition.sectors * 512);
      const files = new Map<string, string>();
      for await (const { path: filePath, entry } of volume.walk()) {
        if (entry.isDirectory) continue;
        const hash = createHash('sha256');
        for await (const part of volume.read(entry, filePath)) hash.update(part);
        files.set(filePath, hash.digest('hex'));
      }
      return files;
    } finally {
      await reader.close();
    }
  }

  /** Whether anything on the device still looks like a card: a partition table, or a FAT volume at 0 or 1 MiB. */
  function looksLikeACard(device: string): string[] {
    const findings: string[] = [];
    const dump = sfdiskDump(device);
    if (dump.dump !== null) findings.push(`sfdisk reads a partition table:\n${dump.dump}`);
    const size = Number(readFileSync(path.join('/sys/block', path.basename(device), 'size'), 'utf8')) * 512;
    for (const offset of [0, MiB]) {
      const fsck = fsckFat(device, offset, size - offset);
      if (fsck.status === 0) findings.push(`fsck.fat accepts a volume at byte ${offset}`);
    }
    return findings;
  }

  function patch(device: string, position: number, value: number): void {
    const descriptor = openSync(device, 'r+');
    writeSync(descriptor, Buffer.from([value]), 0, 1, position);
    closeSync(descriptor);
  }

  function readByte(file: string, position: number): number {
    const descriptor = openSync(file, 'r');
    const byte = Buffer.alloc(1);
    readSync(descriptor, byte, 0, 1, position);
    closeSync(descriptor);
    return byte[0] ?? -1;
  }

  it('writes a card that sfdisk, fsck.fat and the FAT reader accept, reading back only what it wrote', async () => {
    const { device } = newDevice('flash', CARD_BYTES, 0xa5);
    const identity = await readDeviceIdentity(device);
    expect(identity).toMatchObject({ path: device, size: CARD_BYTES, logicalBlockSize: 512, model: 'loop device' });
    const before = bytesWrittenBy(device);
    const target = await openDeviceTarget(identity);
    const probe = await probeCapacity(target);
    const probeBytes = target.bytesWritten;
    const recording = recordWrites(target);
    const { stats, layout } = await writeMediaTo(recording);
    const events: ProgressEvent[] = [];
    const reader = await openUncachedReader(identity);
    const readBack = await verifyWrittenRanges(recording.record, reader, (event) => events.push(event));
    await reader.close();
    await target.commit();

    expect(readBack.mismatches).toEqual([]);
    expect(readBack.bytes).toBe(recording.record.bytes);
    expect(events.at(-1)).toMatchObject({ phase: 'verify', bytes: readBack.bytes, total: readBack.bytes });
    // Only written ranges were read back: far less than the card.
    expect(readBack.bytes).toBeLessThan(CARD_BYTES / 4);
    // The device wrote exactly what the target sent it: no read-modify-write, no write-back of
    // cached pages.
    const written = bytesWrittenBy(device) - before;
    expect(written).toBe(target.bytesWritten);
    // What the card needs (clusters in use, reserved sectors, FATs), plus the zeroed 1 MiB
    // before the partition, the partition's first MiB (zeroed, then written again as reserved
    // sectors and FAT) and the probe blocks: the probe's wipe of the first MiB is not repeated.
    const { geometry } = layout;
    const needed =
      stats.usedClusters * stats.clusterSize +
      (geometry.reservedSectors + geometry.fatCount * geometry.sectorsPerFat) * 512;
    const overhead = written - needed;
    console.log(
      `flash of a ${CARD_BYTES / MiB} MiB loop device: file data ${stats.fileBytes} B; card needs ${needed} B ` +
        `(${stats.usedClusters} clusters of ${stats.clusterSize} B + reserved sectors and FATs); device wrote ${written} B ` +
        `(probe ${probeBytes} B); overhead ${overhead} B; read back ${readBack.bytes} B`,
    );
    expect(overhead).toBeLessThanOrEqual(2 * MiB + probe.outcomes.length * 4096);
    expect(overhead).toBeGreaterThanOrEqual(MiB);

    const dump = sfdiskDump(device).dump ?? '';
    expect(dump).toMatch(/label: dos/);
    expect(dump).toMatch(/start=\s*2048, size=\s*522240, type=c, bootable/);
    const fsck = fsckFat(device, MiB, CARD_BYTES - MiB);
    expect(fsck.output).not.toMatch(/lost|differ|Free cluster summary wrong/i);
    expect(fsck.status).toBe(0);
    expect(await filesOn(identity)).toEqual(media.files);
  });

  it('names the exact range of one byte changed on the device after writing', async () => {
    const { device } = newDevice('changed', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    const { record } = await flash(identity);
    const data = record.list().filter((extent) => extent.hashes !== null && extent.end - extent.start >= MiB)[3];
    if (data === undefined) throw new Error('no large written extent');
    const inData = data.start + 2 * RECORD_PIECE_BYTES + 777;
    // In the zeroed first MiB, after the MBR.
    const inZeros = 4096 + 10;
    for (const position of [inData, inZeros]) {
      // Through a plain descriptor on the device, then out of the page cache onto the device.
      const descriptor = openSync(device, 'r');
      const byte = Buffer.alloc(1);
      readSync(descriptor, byte, 0, 1, position);
      closeSync(descriptor);
      patch(device, position, (byte[0] ?? 0) ^ 0x40);
    }
    dropDeviceCache(device);

    const reader = await openUncachedReader(identity);
    const result = await verifyWrittenRanges(record, reader);
    await reader.close();
    const pieceStart = data.start + 2 * RECORD_PIECE_BYTES;
    expect(result.mismatches).toEqual([
      { start: inZeros, end: inZeros + 1, expected: 'zeros' },
      { start: pieceStart, end: pieceStart + RECORD_PIECE_BYTES, expected: 'data' },
    ]);
    const error = readBackError(result, device);
    expect(error?.message).toContain(`2 ranges (${RECORD_PIECE_BYTES + 1} bytes) read back different`);
    expect(error?.message).toContain(`the first at bytes ${inZeros}-${inZeros}, which should hold zeros`);
    expect(error?.location).toBe(`${device}, bytes ${inZeros}-${inZeros}`);
  });

  it('reads back from the device, not from a page cache that still holds what was written', async () => {
    const { device, file } = newDevice('cache', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    const { record } = await flash(identity);
    const data = record.list().find((extent) => extent.hashes !== null && extent.start >= 2 * MiB);
    if (data === undefined) throw new Error('no written extent');
    const position = data.start + 100;
    // A buffered descriptor kept open (the kernel drops a device's page cache at its last
    // close) reads the byte into the cache; then the byte changes in the backing file behind
    // the loop device, so the cache is stale.
    const cached = openSync(device, 'r');
    const byte = Buffer.alloc(1);
    const readCached = (): number => {
      readSync(cached, byte, 0, 1, position);
      return byte[0] ?? -1;
    };
    const written = readCached();
    const descriptor = openSync(file, 'r+');
    writeSync(descriptor, Buffer.from([written ^ 0xff]), 0, 1, position);
    closeSync(descriptor);
    expect(readCached()).toBe(written);

    const reader = await openUncachedReader(identity);
    const result = await verifyWrittenRanges(record, reader);
    await reader.close();
    expect(result.mismatches).toEqual([
      { start: data.start, end: Math.min(data.start + RECORD_PIECE_BYTES, data.end), expected: 'data' },
    ]);
    // The cache still holds the written byte: a cached read-back would have passed.
    expect(readCached()).toBe(written);
    closeSync(cached);
  });

  it('fails a flash whose read-back differs, naming the range, and wipes the card', async () => {
    const { device } = newDevice('unverified', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    const phases: string[] = [];
    const events: ProgressEvent[] = [];
    let changed = 0;
    const error = await flashDevice({
      identity,
      onPhase: (phase) => phases.push(phase),
      onProgress: (event) => events.push(event),
      write: async (target) => {
        const result = await writeMediaTo(target);
        // The card changes between the write and the read-back (through another descriptor:
        // the flash's own is exclusive, not the only one).
        changed = 3 * MiB + 5;
        patch(device, changed, 0x99);
        dropDeviceCache(device);
        return result;
      },
    }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ReadBackError);
    const mismatches = (error as ReadBackError).result.mismatches;
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]?.start).toBeLessThanOrEqual(changed);
    expect(mismatches[0]?.end).toBeGreaterThan(changed);
    expect((error as ReadBackError).message).toMatch(new RegExp(`^${device} did not keep what was written: one range`));
    expect(phases).toEqual(['probe', 'write', 'verify']);
    expect(events.at(-1)?.phase).toBe('verify');
    expect(looksLikeACard(device)).toEqual([]);
  });

  it('leaves no valid-looking card when a write over a valid card is cancelled mid-stream', async () => {
    const { device } = newDevice('cancelled', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    await flash(identity);
    expect(looksLikeACard(device)).toHaveLength(2);

    const controller = new AbortController();
    const target = await openDeviceTarget(identity, { signal: controller.signal });
    let written = 0;
    const stopping: BlockTarget = {
      ...target,
      description: target.description,
      size: target.size,
      allocate: (size) => target.allocate(size),
      read: (buffer, position) => target.read(buffer, position),
      zero: (position, length) => target.zero(position, length),
      flush: () => target.flush(),
      commit: () => target.commit(),
      abort: () => target.abort(),
      write: (buffer, position) => {
        written += buffer.length;
        // Ctrl-C once 8 MiB of file data has gone out.
        if (written > 8 * MiB) controller.abort();
        return target.write(buffer, position);
      },
    };
    const error = await writeMediaTo(stopping).then(
      () => null,
      (caught: unknown) => caught,
    );
    await target.abort();
    expect(error).toBeInstanceOf(CancelledError);
    expect(looksLikeACard(device)).toEqual([]);
    expect(sfdiskDump(device).error).toMatch(/does not contain a recognized partition table/);
  });

  it('wipes a complete card when it is aborted instead of committed (a failed read-back)', async () => {
    const { device } = newDevice('aborted', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    const target: DeviceTarget = await openDeviceTarget(identity);
    await writeMediaTo(target);
    expect(looksLikeACard(device)).toHaveLength(2);
    await target.abort();
    expect(looksLikeACard(device)).toEqual([]);
    const reader = await openUncachedReader(identity);
    const start = Buffer.alloc(ABORT_WIPE_BYTES, 1);
    await reader.read(start, 0);
    await reader.close();
    expect(start.equals(Buffer.alloc(ABORT_WIPE_BYTES))).toBe(true);
  });

  it('leaves a device untouched when it is aborted before anything was written', async () => {
    const { device } = newDevice('untouched', CARD_BYTES);
    const identity = await readDeviceIdentity(device);
    await flash(identity);
    const before = bytesWrittenBy(device);
    const target = await openDeviceTarget(identity);
    await target.abort();
    expect(bytesWrittenBy(device)).toBe(before);
    expect(looksLikeACard(device)).toHaveLength(2);
  });

  it('refuses to write when the device changed size since it was confirmed, before writing a byte', async () => {
    const { device, file } = newDevice('resized', CARD_BYTES, 0x5a);
    const identity = await readDeviceIdentity(device);
    // Changed before the open...
    truncateSync(file, CARD_BYTES / 2);
    loops.refreshSize(device);
    const refused = await openDeviceTarget(identity).then(
      () => null,
      (caught: unknown) => caught as AppError,
    );
    expect(refused?.code).toBe('invalid-input');
    expect(refused?.message).toContain(`size ${CARD_BYTES} -> ${CARD_BYTES / 2}`);
    expect(refused?.hint).toMatch(/nothing was written/);
    // ... and between the open and the first write.
    const current = await readDeviceIdentity(device);
    const target = await openDeviceTarget(current);
    truncateSync(file, CARD_BYTES);
    loops.refreshSize(device);
    const before = bytesWrittenBy(device);
    await expect(probeCapacity(target)).rejects.toThrow(/no longer the device that was confirmed \(size/);
    await target.abort();
    expect(bytesWrittenBy(device)).toBe(before);
    expect(readByte(file, 0)).toBe(0x5a);
  });

  it('refuses a loop device that was attached to another file since it was confirmed', async () => {
    const { device, file } = newDevice('first', 64 * MiB);
    const identity = await readDeviceIdentity(device);
    expect(identity.serial).toBe(file);
    const other = path.join(temp.dir, 'second.img');
    closeSync(openSync(other, 'w'));
    truncateSync(other, 64 * MiB);
    loops.reattach(device, other);
    const refused = await openDeviceTarget(identity).then(
      () => null,
      (caught: unknown) => caught as AppError,
    );
    expect(refused?.code).toBe('invalid-input');
    expect(refused?.message).toContain(`serial "${file}" -> "${other}"`);
    expect(refused?.message).toMatch(/disk sequence number \d+ -> \d+/);
  });

  it('refuses a device in use, naming its mounted partition and the command that unmounts it', async () => {
    const { device } = newDevice('mounted', 64 * MiB);
    const identity = await readDeviceIdentity(device);
    const first = await openDeviceTarget(identity);
    const held = await openDeviceTarget(identity).then(
      () => null,
      (caught: unknown) => caught as AppError,
    );
    await first.abort();
    expect(held?.message).toBe(`${device} is in use: another program holds it`);

    const mountPoint = path.join(temp.dir, 'mount point');
    const run = (command: string, ...args: string[]): void => {
      const result = spawnSync(command, args, { encoding: 'utf8', input: '' });
      if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
    };
    spawnSync('sfdisk', ['--quiet', device], { input: 'start=2048, type=83\n' });
    run('partx', '--add', device);
    const partition = `${device}p1`;
    try {
      run('mkfs.ext4', '-q', partition);
      run('mkdir', '-p', mountPoint);
      run('mount', partition, mountPoint);
      try {
        const error = await openDeviceTarget(await readDeviceIdentity(device)).then(
          () => null,
          (caught: unknown) => caught as AppError,
        );
        expect(error?.code).toBe('io');
        expect(error?.message).toBe(`${device} is in use: ${partition} on ${mountPoint}`);
        expect(error?.hint).toBe(`unmount it first: umount ${partition}`);
      } finally {
        run('umount', mountPoint);
      }
    } finally {
      run('partx', '--delete', device);
    }
  });

  it('writes nothing to a device too small for the card', async () => {
    const { device } = newDevice('small', 48 * MiB, 0x33);
    const identity = await readDeviceIdentity(device);
    const target = await openDeviceTarget(identity);
    const before = bytesWrittenBy(device);
    const source = await openTarball(media.tarball);
    const refused = await writeCard({
      target,
      partitionBytes: 64 * MiB,
      entries: composeBootMedia(source.entries(), { sourceName: media.tarball }, emptyComposeReport()),
      volumeLabel: 'ALPINE',
      defaultMtime: 0,
      identity: () => ({ volumeId: 1, diskSignature: 1 }),
    }).then(
      () => null,
      (caught: unknown) => caught as AppError,
    );
    await target.abort();
    expect(refused?.code).toBe('too-small');
    expect(refused?.message).toMatch(/does not fit on 48 MiB/);
    expect(bytesWrittenBy(device)).toBe(before);
  });

  it('reports a misaligned direct write as a bug that says what is wrong, not as EINVAL', async () => {
    const { device } = newDevice('aligned', 8 * MiB);
    const identity = await readDeviceIdentity(device);
    const target = await openDeviceTarget(identity);
    try {
      const cases: [() => Promise<void>, RegExp][] = [
        [() => target.write(Buffer.alloc(512), 0), /not aligned memory/],
        [() => target.write(target.allocate(1000), 0), /length 1000 is not a multiple of 512/],
        [() => target.write(target.allocate(512), 100), /position 100 is not a multiple of 512/],
        [() => target.write(target.allocate(1024).subarray(1, 513), 0), /not aligned memory/],
        [() => target.zero(512, 100), /not aligned to 512-byte blocks/],
      ];
      for (const [attempt, message] of cases) {
        const error = await attempt().then(
          () => null,
          (caught: unknown) => caught as AppError,
        );
        expect(error).toBeInstanceOf(AppError);
        expect(error?.code).toBe('internal');
        expect(error?.message).toMatch(message);
        expect(error?.message).not.toMatch(/EINVAL/);
      }
      // Aligned writes work; reads of any shape are served through a bounce buffer.
      const block = target.allocate(4096);
      block.fill(0x11);
      block.write('hello', 1000);
      await target.write(block, 8192);
      const odd = Buffer.alloc(7);
      expect(await target.read(odd, 8192 + 999)).toBe(7);
      expect(odd.toString('latin1')).toBe('\x11hello\x11');
      const end = Buffer.alloc(100);
      expect(await target.read(end, 8 * MiB - 10)).toBe(10);
    } finally {
      await target.abort();
    }
  });

  it('refuses a fake-capacity device that wraps around, and passes the honest device under it', async () => {
    const { device } = newDevice('fake', 64 * MiB);
    const identity = await readDeviceIdentity(device);
    const target = await openDeviceTarget(identity);
    try {
      const honest = await probeCapacity(target);
      expect(honest.outcomes.every((outcome) => outcome.state === 'kept')).toBe(true);
      const error = await probeCapacity(wrappingTarget(target, 1024 * MiB)).then(
        () => null,
        (caught: unknown) => caught as AppError,
      );
      expect(error?.code).toBe('invalid-media');
      expect(error?.message).toContain(`${device} (claiming ${1024 * MiB} bytes) claims 1.1 GB but only about 67.1 MB`);
      expect(error?.message).toContain('every 67.1 MB');
      const dropping = await probeCapacity(droppingTarget(target, 1024 * MiB)).then(
        () => null,
        (caught: unknown) => caught as AppError,
      );
      // The last block kept is at 45.25 MiB; the next (64 MiB) is past the real size.
      expect(dropping?.message).toContain('only about 47.5 MB can be stored');
    } finally {
      await target.abort();
    }
  });

  it('needs no tool that is missing', () => {
    for (const tool of ['sfdisk', 'fsck.fat', 'blockdev']) {
      expect(spawnSync(tool, ['--version']).error, tool).toBeUndefined();
    }
  });
});
