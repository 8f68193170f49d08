import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecentStore } from '../../../main/app/recent-store.js';
import { makeTempDir } from '../../helpers/temp.js';

let temp: ReturnType<typeof makeTempDir>;
beforeEach(() => (temp = makeTempDir()));
afterEach(() => temp.cleanup());

/** A store whose clock ticks a minute per call, and definition files that exist. */
function setup(limit?: number) {
  let minute = 0;
  const store = createRecentStore({
    directory: path.join(temp.dir, 'user-data'),
    ...(limit !== undefined ? { limit } : {}),
    now: () => new Date(Date.UTC(2026, 0, 1, 12, minute++)),
  });
  const file = (name: string) => {
    const full = path.join(temp.dir, name);
    writeFileSync(full, `hostname: ${name}\n`);
    return full;
  };
  return { store, file, listFile: path.join(temp.dir, 'user-data', 'recent-definitions.json') };
}

describe('recent definitions', () => {
  it('lists newest first, once each, with hostname and time', async () => {
    const { store, file } = setup();
    const a = file('a.yml');
    const b = file('b.yml');
    expect(await store.list()).toEqual([]);
    await store.record({ path: a, hostname: 'a' });
    await store.record({ path: b, hostname: null });
    await store.record({ path: a, hostname: 'a2' });
    expect(await store.list()).toEqual([
      { path: a, hostname: 'a2', usedAt: '2026-01-01T12:02:00.000Z' },
      { path: b, hostname: null, usedAt: '2026-01-01T12:01:00.000Z' },
    ]);
  });

  it('keeps at most the limit (10 by default)', async () => {
    const { store, file } = setup();
    for (let index = 0; index < 12; index += 1) await store.record({ path: file(`d${index}.yml`), hostname: null });
    const listed = await store.list();
    expect(listed).toHaveLength(10);
    expect(path.basename(listed[0]!.path)).toBe('d11.yml');
    expect(path.basename(listed[9]!.path)).toBe('d2.yml');
  });

  it('drops files that are gone when listing, and forgets them', async () => {
    const { store, file, listFile } = setup();
    const kept = file('kept.yml');
    const gone = file('gone.yml');
    await store.record({ path: kept, hostname: null });
    await store.record({ path: gone, hostname: null });
    rmSync(gone);
    expect((await store.list()).map((entry) => entry.path)).toEqual([kept]);
    expect(readFileSync(listFile, 'utf8')).not.toContain('gone.yml');
  });

  it('ignores a corrupt list and rewrites it', async () => {
    const { store, file, listFile } = setup();
    await store.record({ path: file('x.yml'), hostname: null });
    writeFileSync(listFile, '{"version": 1, "definitions": [ {"path": tru');
    expect(await store.list()).toEqual([]);
    expect(JSON.parse(readFileSync(listFile, 'utf8'))).toEqual({ version: 1, definitions: [] });
    writeFileSync(listFile, JSON.stringify({ version: 1, definitions: [{ path: 42 }] }));
    const y = file('y.yml');
    await store.record({ path: y, hostname: 'y' });
    expect((await store.list()).map((entry) => entry.path)).toEqual([y]);
  });

  it('writes through a temporary file, leaving none behind, even when writes overlap', async () => {
    const { store, file, listFile } = setup();
    const files = Array.from({ length: 8 }, (_, index) => file(`p${index}.yml`));
    await Promise.all(files.map((full) => store.record({ path: full, hostname: null })));
    expect(readdirSync(path.dirname(listFile))).toEqual(['recent-definitions.json']);
    expect((await store.list()).map((entry) => entry.path).sort()).toEqual([...files].sort());
    expect(existsSync(listFile)).toBe(true);
  });
});
