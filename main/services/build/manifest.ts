import { createHash } from 'node:crypto';
import { CARD_MANIFEST_NAME, type CardManifest, type ManifestFile } from '../../../shared/model/card-manifest.js';
import { fatTimestamp, fromFatTimestamp } from '../image/fat-directory.js';
import { bufferBody, type MediaEntry } from '../image/media-entry.js';

/** What the manifest says about the card's origin; the file list is recorded as the entries pass. */
export type ManifestOrigin = Omit<
  CardManifest,
  'format' | 'version' | 'files' | 'links' | 'apkovl' | 'created' | 'alpineRelease' | 'volume'
>;

export interface ManifestContext {
  /** Asked for once every file has passed (the media's hash may still be under way until then). */
  origin: () => Promise<ManifestOrigin>;
  /** Known once the media have been read. */
  alpineRelease: () => string | null;
  apkovlName: () => string | null;
  volume: () => { label: string | null; serial: string };
  /** The content time (Unix seconds) of the manifest itself. */
  mtime: () => number;
}

/** A body that hashes every chunk on its way to the card and reports the digest at its end. */
function hashingBody(body: AsyncIterable<Uint8Array>, done: (sha256: string) => void): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const inner = body[Symbol.asyncIterator]();
      const hash = createHash('sha256');
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          const result = await inner.next();
          if (result.done === true) done(hash.digest('hex'));
          else hash.update(result.value);
          return result;
        },
      };
    },
  };
}

/**
 * Pass the card's entries through, recording every file's size and SHA-256 (a later member of
 * the same path replaces the earlier one, as on the card), then add the manifest as the last file.
 */
export async function* withManifest(
  entries: AsyncIterable<MediaEntry>,
  context: ManifestContext,
  onManifest?: (manifest: CardManifest) => void,
): AsyncGenerator<MediaEntry> {
  const files = new Map<string, ManifestFile>();
  const links = new Map<string, string>();
  for await (const entry of entries) {
    if (entry.kind === 'file') {
      links.delete(entry.path);
      const { path, size, mtime } = entry;
      files.delete(path);
      yield {
        ...entry,
        body: hashingBody(entry.body, (sha256) => files.set(path, { path, size, sha256, mtime: fatTime(mtime) })),
      };
    } else {
      if (entry.kind === 'link') {
        files.delete(entry.path);
        links.set(entry.path, entry.target);
      }
      yield entry;
    }
  }
  const apkovlName = context.apkovlName();
  const sorted = [...files.values()].sort((left, right) => (left.path < right.path ? -1 : 1));
  const mtime = context.mtime();
  const manifest: CardManifest = {
    format: 'apkovl-studio-card',
    version: 1,
    ...(await context.origin()),
    created: new Date(mtime * 1000).toISOString(),
    alpineRelease: context.alpineRelease(),
    apkovl: apkovlName === null ? null : (files.get(apkovlName) ?? null),
    files: sorted,
    links: [...links]
      .map(([path, target]) => ({ path, target }))
      .sort((left, right) => (left.path < right.path ? -1 : 1)),
    volume: context.volume(),
  };
  onManifest?.(manifest);
  const data = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
  yield { kind: 'file', path: CARD_MANIFEST_NAME, size: data.length, mtime, body: bufferBody(data) };
}

/** The time a FAT reader will see: even seconds, clamped to 1980..2107. */
function fatTime(seconds: number): number {
  const { date, time } = fatTimestamp(seconds);
  return fromFatTimestamp(date, time);
}
