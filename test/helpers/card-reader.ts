import { createHash } from 'node:crypto';
import { Fat32Volume, readMbr } from '../../main/services/image/fat-reader.js';
import { openReadableFile } from '../../main/services/image/readable-file.js';

/** Read a card image back with the project's own reader: path -> sha256 of every file. */
export async function readCardFiles(
  image: string,
): Promise<{ files: Map<string, string>; volume: Fat32Volume; directories: string[] }> {
  const medium = await openReadableFile(image);
  try {
    const mbr = await readMbr(medium);
    const partition = mbr?.partitions[0];
    if (!partition) throw new Error('no partition');
    const volume = await Fat32Volume.open(medium, partition.start * 512, partition.sectors * 512);
    const files = new Map<string, string>();
    const directories: string[] = [];
    for await (const { path, entry } of volume.walk()) {
      if (entry.isDirectory) {
        directories.push(path);
        continue;
      }
      const hash = createHash('sha256');
      for await (const part of volume.read(entry, path)) hash.update(part);
      files.set(path, hash.digest('hex'));
    }
    return { files, volume, directories };
  } finally {
    await medium.close();
  }
}
