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

type Slot =
  | { kind: 'file'; record: ManifestFile }
  | {
      kind: 'link';
      path: string;
      target: string;
      mtime: number;
      /** A hard link names what its target was when it arrived (tar semantics); null: the path counts. */
      bound: Slot | null;
    };

/** Linux follows at most 40 symbolic links in one lookup; the card builder does the same. */
const MAX_LINK_DEPTH = 40;

/** The file a link's copy on the card comes from, as the card builder resolves it. */
function resolveLink(link: Extract<Slot, { kind: 'link' }>, slots: Map<string, Slot>): ManifestFile | null {
  let current: Slot | undefined = link;
  for (let depth = 0; depth <= MAX_LINK_DEPTH && current !== undefined; depth += 1) {
    if (current.kind === 'file') return current.record;
    current = current.bound ?? slots.get(current.target);
  }
  return null;
}

/**
 * Pass the card's entries through, recording every file's size and SHA-256 (a later member of
 * the same path replaces the earlier one, as on the card; a link's copy gets the hash of the
 * file it resolves to), then add the manifest as the last file.
 */
export async function* withManifest(
  entries: AsyncIterable<MediaEntry>,
  context: ManifestContext,
  onManifest?: (manifest: CardManifest) => void,
): AsyncGenerator<MediaEntry> {
  const slots = new Map<string, Slot>();
  for await (const entry of entries) {
    if (entry.kind === 'file') {
      const record: ManifestFile = { path: entry.path, size: entry.size, sha256: '', mtime: fatTime(entry.mtime) };
      slots.set(entry.path, { kind: 'file', record });
      yield { ...entry, body: hashingBody(entry.body, (sha256) => (record.sha256 = sha256)) };
    } else {
      if (entry.kind === 'link') {
        slots.set(entry.path, {
          kind: 'link',
          path: entry.path,
          target: entry.target,
          mtime: entry.mtime,
          bound: entry.hard ? (slots.get(entry.target) ?? null) : null,
        });
      }
      yield entry;
    }
  }
  const files: ManifestFile[] = [];
  const links: { path: string; target: string }[] = [];
  for (const [path, slot] of slots) {
    if (slot.kind === 'file') {
      files.push(slot.record);
      continue;
    }
    links.push({ path, target: slot.target });
    const source = resolveLink(slot, slots);
    if (source !== null) files.push({ path, size: source.size, sha256: source.sha256, mtime: fatTime(slot.mtime) });
  }
  const byPath = (left: { path: string }, right: { path: string }) => (left.path < right.path ? -1 : 1);
  const apkovlName = context.apkovlName();
  const mtime = context.mtime();
  const manifest: CardManifest = {
    format: 'apkovl-studio-card',
    version: 1,
    ...(await context.origin()),
    created: new Date(mtime * 1000).toISOString(),
    alpineRelease: context.alpineRelease(),
    apkovl: files.find((file) => file.path === apkovlName) ?? null,
    files: files.sort(byPath),
    links: links.sort(byPath),
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
