/**
 * The flash benchmark's etcher-sdk contender (run by flash.ts inside the throttled group):
 * `node etcher-flash.js <image> <device>` writes the image file to the device as balenaEtcher
 * does (decompressThenFlash with its defaults: direct I/O, trimming what it can, verification
 * by reading everything back) and prints one JSON line: seconds and the SDK's bytes written.
 */
import { readFile } from 'node:fs/promises';
import { multiWrite, sourceDestination } from 'etcher-sdk';

const [image, device] = process.argv.slice(2);
if (image === undefined || device === undefined) {
  console.error('usage: etcher-flash <image> <device>');
  process.exit(2);
}
const sectors = Number((await readFile(`/sys/block/${device.replace(/^\/dev\//, '')}/size`, 'utf8')).trim());
// drivelist does not list loop devices: describe this one as drivelist would.
const drive = {
  device,
  raw: device,
  devicePath: null,
  description: 'loop device',
  size: sectors * 512,
  blockSize: 512,
  logicalBlockSize: 512,
  mountpoints: [],
  isReadOnly: false,
  isSystem: false,
  isVirtual: true,
  isRemovable: true,
  isCard: false,
  isUSB: false,
  isSCSI: false,
  isUAS: false,
  busType: 'UNKNOWN',
  busVersion: null,
  enumerator: 'loop',
  error: null,
  displayName: device,
  partitionTableType: null,
} as unknown as ConstructorParameters<typeof sourceDestination.BlockDevice>[0]['drive'];
const source = new sourceDestination.File({ path: image });
const destination = new sourceDestination.BlockDevice({ drive, write: true, direct: true, unmountOnSuccess: false });
const started = process.hrtime.bigint();
const failures: string[] = [];
const result = await multiWrite.decompressThenFlash({
  source,
  destinations: [destination],
  onFail: (_destination, error) => failures.push(error.message),
  onProgress: () => undefined,
  verify: true,
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
if (failures.length > 0) {
  console.error(`etcher-sdk failed: ${failures.join('; ')}`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ seconds, bytesWritten: result.bytesWritten })}\n`);
