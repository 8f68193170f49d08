import { runTool } from './run-tool.js';

export interface ProbedFilesystem {
  filesystem: string | null;
  label: string | null;
}

/** `blkid -o export` escapes shell-special characters with a backslash: `LABEL=my\ card`. */
export function parseBlkidExport(output: string): ProbedFilesystem {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) values.set(line.slice(0, equals), line.slice(equals + 1).replace(/\\(.)/g, '$1'));
  }
  return { filesystem: values.get('TYPE') ?? null, label: values.get('LABEL') ?? null };
}

/**
 * The file system on a device, read from its superblock by `blkid -p` (read-only). lsblk takes
 * file system types and labels from udev's database, which is absent on machines without udev
 * (containers, minimal VMs): then this is the only way to know. Null values where blkid cannot
 * tell or may not open the device.
 */
export async function probeFilesystem(device: string): Promise<ProbedFilesystem> {
  try {
    return parseBlkidExport(await runTool('blkid', ['-p', '-o', 'export', device]));
  } catch {
    return { filesystem: null, label: null };
  }
}
