import os from 'node:os';
import path from 'node:path';

/** The per-user download cache: APKOVL_CACHE_DIR, else the platform's usual cache folder. */
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>>,
  platform = process.platform,
  home = os.homedir(),
): string {
  if (env.APKOVL_CACHE_DIR) return env.APKOVL_CACHE_DIR;
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'apkovl-studio');
  if (platform === 'win32')
    return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'apkovl-studio', 'Cache');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'apkovl-studio');
}
