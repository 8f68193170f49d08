import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { type ClassifiedDrive, classifiedDriveSchema } from '../../shared/model/drive.js';
import { listDrives, locatePath, resolveTarget, unmountDrive } from '../../main/services/drives/drive-service.js';
import { runCli } from '../helpers/cli.js';
import { describeRequiring } from '../helpers/requirements.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Drives on this machine, for real: the root disk as the CLI reports it, and loop devices (with
 * partitions added by partx, an ext4 file system mounted, swap) as explicitly named targets.
 * No test opens the root disk at all: its refusal is checked on the classification.
 */

const MiB = 2 ** 20;
const run = (command: string, ...args: string[]) => execFileSync(command, args, { encoding: 'utf8' }).trim();

/** The whole drive under a block device, by util-linux's own view (lsblk's parent kernel name). */
function wholeDrive(device: string): string {
  const parent = run('lsblk', '--nodeps', '--noheadings', '--output', 'PKNAME', device);
  return parent === '' ? device : `/dev/${parent}`;
}

/** What findmnt says holds a path: a drive, or the file system when it is not on a device. */
function holderByFindmnt(file: string): string {
  const source = run('findmnt', '--noheadings', '--output', 'SOURCE', '--target', file).replace(/\[.*\]$/, '');
  return source.startsWith('/dev/') ? wholeDrive(source) : source;
}

function expectAppError(promise: Promise<unknown>, code: string, message: RegExp) {
  return expect(promise).rejects.toSatisfy(
    (error) => error instanceof AppError && error.code === code && message.test(error.message),
  );
}

describeRequiring('apkovl drives', { linux: true, tools: ['lsblk', 'findmnt'] }, () => {
  const rootSource = () => run('findmnt', '--noheadings', '--output', 'SOURCE', '/');

  it('marks the drive holding / as a hidden system drive, with the reason (--json lists every drive)', () => {
    if (!rootSource().startsWith('/dev/')) throw new Error(`/ is not on a drive here (${rootSource()})`);
    const rootDrive = wholeDrive(rootSource());
    const result = runCli(['drives', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout) as { type: string; command: string; drives: unknown[] };
    expect(line).toMatchObject({ type: 'result', command: 'drives' });
    const drives = line.drives.map((drive) => classifiedDriveSchema.parse(drive));
    const root = drives.find(({ device }) => device === rootDrive);
    expect(root, `${rootDrive} among ${drives.map(({ device }) => device).join(', ')}`).toBeDefined();
    expect(root?.status).toBe('hidden');
    expect(root?.reasons[0]).toMatchObject({ code: 'system-mount', effect: 'hide' });
    expect(root?.reasons[0]?.message).toMatch(new RegExp(`^holds the running system: .*/ \\(${rootSource()}\\)`));
  });

  it('leaves hidden drives out of the table unless --all is given, and marks them there', () => {
    const rootDrive = wholeDrive(rootSource());
    const plain = runCli(['drives']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).not.toContain(`${rootDrive} `);
    expect(plain.stdout).toMatch(/hidden drives? \(the system's, RAM disks\): apkovl drives --all shows/);
    const all = runCli(['drives', '--all']);
    expect(all.stdout).toMatch(/^DEVICE\s+SIZE\s+MODEL\s+BUS\s+STATUS\s+REASON$/m);
    expect(all.stdout).toMatch(new RegExp(`^${rootDrive}\\s.*\\shidden\\s+holds the running system: `, 'm'));
  });

  it('finds the drive holding a file, as findmnt does, and the folder of a file not made yet', async () => {
    const temp = makeTempDir();
    try {
      const file = path.join(temp.dir, 'media.tar.gz');
      writeFileSync(file, 'x');
      const expected = holderByFindmnt(file);
      for (const target of [file, path.join(temp.dir, 'not-yet', 'card.img')]) {
        const location = await locatePath(target);
        if (expected.startsWith('/dev/'))
          expect(location).toEqual({ kind: 'drives', path: target, drives: [expected] });
        else expect(location).toMatchObject({ kind: 'none', path: target, filesystem: expected });
      }
      expect(await locatePath('/proc/self/status')).toEqual({
        kind: 'none',
        path: '/proc/self/status',
        filesystem: 'proc',
      });
    } finally {
      temp.cleanup();
    }
  });

  it('refuses a regular file, a folder and a missing path as a target', async () => {
    const temp = makeTempDir();
    try {
      const file = path.join(temp.dir, 'card.img');
      writeFileSync(file, Buffer.alloc(1024));
      await expectAppError(resolveTarget(file), 'invalid-input', /card\.img is a regular file, not a drive$/);
      await expectAppError(resolveTarget(temp.dir), 'invalid-input', /is a folder$/);
      await expectAppError(resolveTarget('/dev/apkovl-no-such-drive'), 'not-found', /does not exist$/);
    } finally {
      temp.cleanup();
    }
  });
});

describeRequiring(
  'loop devices as explicitly named drives',
  {
    linux: true,
    root: true,
    tools: [
      'losetup',
      'partx',
      'sfdisk',
      'mkfs.ext4',
      'mkswap',
      'swapon',
      'swapoff',
      'mount',
      'umount',
      'lsblk',
      'blkid',
      'findmnt',
      'blockdev',
    ],
  },
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let image: string;
    let loop = '';
    let mountpoint: string;
    let swapOn = false;
    const cleanups: Array<() => void> = [];

    beforeAll(() => {
      temp = makeTempDir('apkovl-drives-');
      image = path.join(temp.dir, 'stick.img');
      mountpoint = path.join(temp.dir, 'mounted stick');
      mkdirSync(mountpoint);
      execFileSync('truncate', ['--size', `${96 * MiB}`, image]);
      // MBR: 32 MiB Linux at 1 MiB, the rest Linux (later swap).
      execFileSync('sfdisk', ['--quiet', image], { input: 'label: dos\n2048,65536,83\n,,83\n' });
      loop = run('losetup', '--find', '--show', image);
      cleanups.push(() => run('losetup', '--detach', loop));
      // The kernel here does not scan a loop device's partition table: partx adds loopNp1, loopNp2.
      run('partx', '--add', loop);
      cleanups.push(() => run('partx', '--delete', loop));
      run('mkfs.ext4', '-q', '-L', 'APKOVLTEST', `${loop}p1`);
      run('mount', `${loop}p1`, mountpoint);
      cleanups.push(() => {
        // findmnt exits 1 when nothing is mounted there (the test unmounted it).
        if (spawnSync('findmnt', ['--mountpoint', mountpoint]).status === 0) run('umount', mountpoint);
      });
      writeFileSync(path.join(mountpoint, 'media.tar.gz'), 'inside the loop file system');
    });

    afterAll(() => {
      // Whatever happened above: every mount, swap, partition and loop device goes, newest first.
      if (swapOn) spawnSync('swapoff', [`${loop}p2`]);
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch (error) {
          console.error(`cleanup: ${String(error)}`);
        }
      }
      temp?.cleanup();
    });

    it('resolves a loop device with its size, block size, backing file and partitions (after partx -a)', async () => {
      const drive = await resolveTarget(loop);
      expect(drive).toMatchObject({
        device: loop,
        kind: 'loop',
        size: 96 * MiB,
        blockSize: Number(run('blockdev', '--getss', loop)),
        bus: 'LOOP',
        readOnly: false,
        backingFile: image,
        status: 'ok',
      });
      expect(drive.size).toBe(Number(run('blockdev', '--getsize64', loop)));
      expect(drive.partitions).toEqual([
        {
          device: `${loop}p1`,
          label: 'APKOVLTEST',
          filesystem: 'ext4',
          size: 32 * MiB,
          mountpoints: [mountpoint],
          swap: false,
          holders: [],
        },
        {
          device: `${loop}p2`,
          label: null,
          filesystem: null,
          size: 63 * MiB,
          mountpoints: [],
          swap: false,
          holders: [],
        },
      ]);
      expect(drive.reasons.map(({ code }) => code)).toEqual(['mounted']);
    });

    it('finds the loop device, then the drive of its backing file, as holding a file in its file system', async () => {
      const file = path.join(mountpoint, 'media.tar.gz');
      const location = await locatePath(file);
      const below = holderByFindmnt(image);
      expect(location).toEqual({
        kind: 'drives',
        path: file,
        drives: below.startsWith('/dev/') ? [loop, below] : [loop],
      });
    });

    it('refuses it for a card larger than it, or when it holds the boot media', async () => {
      const drive = await resolveTarget(loop, {
        neededBytes: 512 * MiB,
        source: path.join(mountpoint, 'media.tar.gz'),
      });
      expect(drive.status).toBe('refused');
      expect(drive.reasons.map(({ code }) => code)).toEqual(['too-small', 'holds-source', 'mounted']);
    });

    it('lists attached loop devices only when asked (drives --loop), classified like a named one', async () => {
      expect((await listDrives()).map(({ device }) => device)).not.toContain(loop);
      const listed = (await listDrives({}, { loopDevices: true })).find(({ device }) => device === loop);
      expect(listed).toEqual(await resolveTarget(loop));
      const table = runCli(['drives', '--loop']);
      expect(table.stdout).toMatch(new RegExp(`^${loop}\\s+96 MiB\\s+Loop device of stick\\.img`, 'm'));
      expect(runCli(['drives']).stdout).not.toContain(loop);
    });

    it('refuses a partition as a target, naming the whole drive', async () => {
      await expectAppError(
        resolveTarget(`${loop}p1`),
        'invalid-input',
        new RegExp(`^${loop}p1 is a partition of ${loop}, not a whole drive$`),
      );
    });

    it('refuses to unmount a drive that changed since it was chosen', async () => {
      const drive = await resolveTarget(loop);
      await expectAppError(
        unmountDrive({ ...drive, size: drive.size + MiB }),
        'invalid-input',
        /is not the drive that was chosen/,
      );
      expect((await resolveTarget(loop)).partitions[0]?.mountpoints).toEqual([mountpoint]);
    });

    it('does not unmount lazily: a busy mount is an error that says how to find who holds it', async () => {
      const open = openSync(path.join(mountpoint, 'media.tar.gz'), 'r');
      try {
        await expect(unmountDrive(await resolveTarget(loop))).rejects.toSatisfy(
          (error) =>
            error instanceof AppError &&
            error.code === 'io' &&
            /^could not unmount .*mounted stick \(\/dev\/loop\d+\): .*busy/.test(error.message) &&
            /fuser -vm /.test(error.hint ?? ''),
        );
      } finally {
        closeSync(open);
      }
      expect((await resolveTarget(loop)).partitions[0]?.mountpoints).toEqual([mountpoint]);
    });

    it('unmounts the mounted ext4 partition, says so, and then shows no mountpoints', async () => {
      const report = await unmountDrive(await resolveTarget(loop));
      expect(report).toEqual({ device: loop, unmounted: [mountpoint] });
      const after: ClassifiedDrive = await resolveTarget(loop);
      expect(after.partitions.flatMap(({ mountpoints }) => mountpoints)).toEqual([]);
      expect(after.reasons).toEqual([]);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${loop}p1`);
    });

    it('hides a drive with swap in use and refuses to unmount it', async () => {
      run('mkswap', '--label', 'APKOVLSWAP', `${loop}p2`);
      run('swapon', `${loop}p2`);
      swapOn = true;
      const drive = await resolveTarget(loop);
      expect(drive.partitions[1]).toMatchObject({
        device: `${loop}p2`,
        swap: true,
        filesystem: 'swap',
        label: 'APKOVLSWAP',
        mountpoints: [],
      });
      expect(drive.status).toBe('hidden');
      expect(drive.reasons[0]).toEqual({ code: 'swap', effect: 'hide', message: `holds swap in use: ${loop}p2` });
      await expectAppError(unmountDrive(drive), 'invalid-input', /^refusing to unmount .*: it holds swap in use/);
      run('swapoff', `${loop}p2`);
      swapOn = false;
      expect((await resolveTarget(loop)).status).toBe('ok');
    });
  },
);
