import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** A definition opened or saved in the app: its file, its hostname if it has one, when (ISO time). */
export interface RecentDefinition {
  path: string;
  hostname: string | null;
  usedAt: string;
}

export interface RecentStore {
  /** Newest first; files that are gone are left out (and forgotten). */
  list(): Promise<RecentDefinition[]>;
  /** Put a definition first (once: an earlier entry for the same file goes). */
  record(entry: { path: string; hostname: string | null }): Promise<void>;
}

export interface RecentStoreOptions {
  /** The folder the list is kept in (the app's userData). */
  directory: string;
  fileName?: string;
  /** How many definitions are kept. */
  limit?: number;
  now?: () => Date;
}

const entrySchema = z.object({ path: z.string().min(1), hostname: z.string().nullable(), usedAt: z.string() });
const fileSchema = z.object({ version: z.literal(1), definitions: z.array(entrySchema) });

/**
 * The app's list of recent definitions, as a small JSON file. A file that cannot be read as one
 * (corrupt, from another version) counts as an empty list and is rewritten. Writes go to a
 * temporary file renamed over the list, so a crash never leaves half a list. Electron-free.
 */
export function createRecentStore(options: RecentStoreOptions): RecentStore {
  const file = path.join(options.directory, options.fileName ?? 'recent-definitions.json');
  const limit = options.limit ?? 10;
  const now = options.now ?? (() => new Date());
  // One change at a time, in order.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };

  async function load(): Promise<{ entries: RecentDefinition[]; valid: boolean }> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return { entries: [], valid: true };
    }
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      return parsed.success ? { entries: parsed.data.definitions, valid: true } : { entries: [], valid: false };
    } catch {
      return { entries: [], valid: false };
    }
  }

  async function save(entries: RecentDefinition[]): Promise<void> {
    await mkdir(options.directory, { recursive: true });
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify({ version: 1, definitions: entries }, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, file);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  const exists = (file: string) =>
    stat(file).then(
      (info) => info.isFile(),
      () => false,
    );

  return {
    list: () =>
      serial(async () => {
        const { entries, valid } = await load();
        const present: RecentDefinition[] = [];
        for (const entry of entries.slice(0, limit)) if (await exists(entry.path)) present.push(entry);
        if (!valid || present.length !== entries.length) await save(present);
        return present;
      }),
    record: (entry) =>
      serial(async () => {
        const resolved = path.resolve(entry.path);
        const { entries } = await load();
        const next = [
          { path: resolved, hostname: entry.hostname, usedAt: now().toISOString() },
          ...entries.filter((other) => other.path !== resolved),
        ].slice(0, limit);
        await save(next);
      }),
  };
}
