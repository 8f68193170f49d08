import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** The app's settings: package-repository keys trusted besides Alpine's (as `--apk-key` gives the CLI). */
export interface AppSettings {
  apkKeys: string[];
}

export interface SettingsStore {
  read(): Promise<AppSettings>;
  write(settings: AppSettings): Promise<AppSettings>;
}

const fileSchema = z.object({ version: z.literal(1), apkKeys: z.array(z.string().min(1)) });

/**
 * The app's settings as a small JSON file in its userData folder, kept like the recent
 * definitions (recent-store.ts): a file that cannot be read as settings counts as the defaults,
 * and writes go to a temporary file renamed over it. Electron-free.
 */
export function createSettingsStore(options: { directory: string; fileName?: string }): SettingsStore {
  const file = path.join(options.directory, options.fileName ?? 'settings.json');
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    read: () =>
      serial(async () => {
        try {
          const parsed = fileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
          return parsed.success ? { apkKeys: parsed.data.apkKeys } : { apkKeys: [] };
        } catch {
          return { apkKeys: [] };
        }
      }),
    write: (settings) =>
      serial(async () => {
        await mkdir(options.directory, { recursive: true });
        const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        try {
          await writeFile(temporary, `${JSON.stringify({ version: 1, apkKeys: settings.apkKeys }, null, 2)}\n`, {
            mode: 0o600,
          });
          await rename(temporary, file);
        } catch (error) {
          await unlink(temporary).catch(() => undefined);
          throw error;
        }
        return { apkKeys: [...settings.apkKeys] };
      }),
  };
}
