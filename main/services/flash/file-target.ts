import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { BlockTarget } from './block-target.js';

const ZERO_CHUNK = Buffer.alloc(1 << 20);

async function writeAll(handle: fs.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten === 0) throw new AppError('io', `wrote nothing at byte ${position + done}`);
    done += bytesWritten;
  }
}

class FileTarget implements BlockTarget {
  private closed = false;

  constructor(
    readonly description: string,
    readonly size: number,
    private readonly handle: fs.FileHandle,
    /** Regions never written read as zero (a new sparse file): zeroing them is a no-op. */
    private readonly fresh: boolean,
    private readonly onCommit: () => Promise<void>,
    private readonly onAbort: () => Promise<void>,
  ) {}

  allocate(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    this.check(position, buffer.length);
    await writeAll(this.handle, buffer, position);
  }

  async zero(position: number, length: number): Promise<void> {
    this.check(position, length);
    if (this.fresh) return;
    for (let done = 0; done < length; done += ZERO_CHUNK.length) {
      const count = Math.min(ZERO_CHUNK.length, length - done);
      await writeAll(this.handle, ZERO_CHUNK.subarray(0, count), position + done);
    }
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
    return bytesRead;
  }

  async flush(): Promise<void> {
    // A new image stays invisible under its temporary name until commit() renames it, so the
    // order in which its blocks reach the disk does not matter and it is not synced: like any
    // file a program writes, it reaches the disk with the page cache. A file written in place
    // (a card's twin) is synced, because there the order is what keeps an interrupted write
    // from looking valid.
    if (!this.fresh) await this.handle.sync();
  }

  async commit(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
    await this.onCommit();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
    await this.onAbort();
  }

  private check(position: number, length: number): void {
    if (position < 0 || position + length > this.size) {
      throw new AppError(
        'internal',
        `write of ${length} bytes at ${position} is outside ${this.description} (${this.size} bytes)`,
      );
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `.NAME.<pid>.partial` beside NAME: the image process <pid> is writing. */
export function partialImagePath(outputPath: string, pid: number): string {
  return path.join(path.dirname(path.resolve(outputPath)), `.${path.basename(outputPath)}.${pid}.partial`);
}

/**
 * Delete what builds of the same output left when they were killed (SIGKILL, a crash, a power
 * cut): `.NAME.<pid>.partial` files whose process is gone. A partial of a live process is kept
 * (that build is still running), as is anything that is not a plain file.
 */
async function removeStalePartials(outputPath: string): Promise<void> {
  const directory = path.dirname(path.resolve(outputPath));
  const prefix = `.${path.basename(outputPath)}.`;
  for (const name of await fs.readdir(directory).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const pidText = name.slice(prefix.length, -'.partial'.length);
    if (!/^[1-9]\d{0,9}$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid === process.pid || processAlive(pid)) continue;
    const file = path.join(directory, name);
    const info = await fs.lstat(file).catch(() => null);
    if (info?.isFile()) await fs.rm(file, { force: true });
  }
}

/**
 * A new disk image at `outputPath`: written under a temporary name beside it, sparse, and
 * renamed into place only by commit(); abort() deletes it. An existing file at the path is
 * replaced only on success. Stale partial images of the same output are deleted first.
 *
 * The image is readable and writable by its owner only (0600, whatever the umask): it holds an
 * apkovl, and every apkovl this tool makes carries /etc/shadow, often with password hashes, Wi-Fi
 * keys and an SSH host key; one given with --overlay may hold anything.
 */
export async function createImageFileTarget(outputPath: string, size: number): Promise<BlockTarget> {
  const existing = await fs.stat(outputPath).catch(() => null);
  if (existing !== null && !existing.isFile()) {
    const what = existing.isBlockDevice()
      ? 'a block device'
      : existing.isDirectory()
        ? 'a folder'
        : 'not a regular file';
    throw new AppError('invalid-input', `${outputPath} is ${what}`, {
      location: '--output',
      hint: existing.isBlockDevice()
        ? 'this command writes image files; cards and sticks are written with the flash command'
        : 'give the path of an image file to create, for example card.img',
    });
  }
  await removeStalePartials(outputPath);
  const temporary = partialImagePath(outputPath, process.pid);
  const handle = await fs
    .open(temporary, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_TRUNC, 0o600)
    .catch((error: unknown) => {
      throw new AppError('io', `cannot create ${temporary}: ${(error as Error).message}`, {
        location: '--output',
        hint: 'check that the folder exists and is writable',
        cause: error,
      });
    });
  try {
    // open()'s mode is reduced by the umask: set it exactly.
    await handle.chmod(0o600);
    await handle.truncate(size);
  } catch (error) {
    await handle.close();
    await fs.rm(temporary, { force: true });
    throw new AppError('io', `cannot make a ${size}-byte image at ${outputPath}: ${(error as Error).message}`, {
      location: '--output',
      cause: error,
    });
  }
  return new FileTarget(
    outputPath,
    size,
    handle,
    true,
    () => fs.rename(temporary, outputPath),
    () => fs.rm(temporary, { force: true }),
  );
}

/**
 * An existing file written in place, as a card is: the file-backed twin of a block device.
 * Nothing is renamed or deleted; commit() and abort() only close it.
 */
export async function openFileInPlace(filePath: string): Promise<BlockTarget> {
  const handle = await fs.open(filePath, 'r+');
  const { size } = await handle.stat();
  return new FileTarget(
    filePath,
    size,
    handle,
    false,
    () => Promise.resolve(),
    () => Promise.resolve(),
  );
}
