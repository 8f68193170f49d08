import type { MediaEntry } from '../image/media-entry.js';

/** Boot media as a stream of entries: a Raspberry Pi tarball or an x86_64 ISO. */
export interface MediaSource {
  path: string;
  /** Bytes that will be read, for progress. */
  size: number;
  /** A cheap fingerprint of the content, mixed into the card's serials. */
  fingerprint: Buffer;
  /** Members in order. Each file body must be consumed (or abandoned) before the next. */
  entries(): AsyncIterable<MediaEntry>;
}

export interface MediaSourceOptions {
  /** Called with the number of bytes read so far. */
  onRead?: (bytes: number) => void;
  signal?: AbortSignal;
}
