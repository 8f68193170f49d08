/**
 * One member of boot media, as the card builder consumes it. Paths are relative, use `/`,
 * and have been checked by the source (no `..`, no leading `/`).
 */
export type MediaEntry =
  | { kind: 'directory'; path: string; mtime: number }
  | {
      kind: 'file';
      path: string;
      size: number;
      /** Unix seconds. */
      mtime: number;
      /**
       * The data. Chunks may be lent by the source: each is valid only until the next one is
       * asked for, so a consumer that keeps data copies it.
       */
      body: AsyncIterable<Uint8Array>;
    }
  | {
      /** A symbolic or hard link inside the media; FAT has no links, so the data is copied. */
      kind: 'link';
      path: string;
      /** The media path it points to, already resolved and checked to stay inside. */
      target: string;
      /**
       * A hard link (tar type 1) names the file as it is when the link arrives, as tar extracts
       * it; a symbolic link is followed once all the media have been read.
       */
      hard: boolean;
      mtime: number;
    };

/** An in-memory body, for small generated files. */
export function bufferBody(data: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      let given = data.length === 0;
      return {
        next(): Promise<IteratorResult<Uint8Array>> {
          const result: IteratorResult<Uint8Array> = given
            ? { done: true, value: undefined }
            : { done: false, value: data };
          given = true;
          return Promise.resolve(result);
        },
      };
    },
  };
}
