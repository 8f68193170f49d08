import { createHash } from 'node:crypto';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { ByteRange } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { foldName } from '../image/fat-names.js';
import type { VerifyMedium } from './medium.js';

/** `count` consecutive clusters from `first`. */
export interface ClusterRun {
  first: number;
  count: number;
}

/** Where cluster 2 starts on the medium, and how big a cluster is. */
export interface ClusterGeometry {
  dataOffset: number;
  clusterSize: number;
}

/** A file or folder of the card, as the file-system walk found it. */
export interface CardFile {
  /** Path on the card without a leading slash: "boot/vmlinuz-rpi". */
  path: string;
  isDirectory: boolean;
  size: number;
  /** As the directory entry says (0 for an empty file). */
  firstCluster: number;
  /** Last write, Unix seconds, as the FAT entry says. */
  mtime: number;
  /** The clusters holding its data, in chain order, as many as its size needs (fewer when the chain breaks). */
  runs: ClusterRun[];
  /** Why its data cannot be read whole (a broken chain), or null. */
  unreadable: string | null;
}

export type FileDigest = { ok: true; sha256: string } | { ok: false; message: string; ranges: ByteRange[] };

/** A piece of a file's data: a view valid until the next piece is asked for. */
export interface FilePiece {
  /** Offset of the piece in the file. */
  offset: number;
  bytes: Buffer;
}

const PIECE = 1 << 20;

/**
 * The files of a card and their data, read from the medium by their cluster runs. Digests are
 * computed once and kept; every byte of file data read is reported to `onRead` (progress).
 */
export class CardReader {
  /** Called with the number of file bytes just read. */
  onRead: ((bytes: number) => void) | null = null;
  private readonly byPath = new Map<string, CardFile>();
  private readonly byFolded = new Map<string, CardFile>();
  private readonly digests = new Map<CardFile, FileDigest>();
  /** Read buffers, reused: each data() generator holds one until it ends. */
  private readonly buffers: Buffer[] = [];

  constructor(
    readonly medium: VerifyMedium,
    readonly geometry: ClusterGeometry,
    /** Every file and folder, in directory order, parents before children. */
    readonly files: readonly CardFile[],
    private readonly signal?: AbortSignal,
  ) {
    for (const file of files) {
      this.byPath.set(file.path, file);
      const folded = foldPath(file.path);
      if (!this.byFolded.has(folded)) this.byFolded.set(folded, file);
    }
  }

  /** The file at `path`: exactly, else case-insensitively as FAT looks names up. */
  find(path: string): CardFile | null {
    return this.byPath.get(path) ?? this.byFolded.get(foldPath(path)) ?? null;
  }

  /** Files (not folders) in the root folder, in directory order (the order the initramfs reads them). */
  rootFiles(): CardFile[] {
    return this.files.filter((file) => !file.isDirectory && !file.path.includes('/'));
  }

  /** Where the file's data lies on the medium (adjacent runs merged). */
  ranges(file: CardFile): ByteRange[] {
    return this.rangesOf(file, 0, file.size);
  }

  /** Where bytes `start` .. `end - 1` of the file lie on the medium. */
  rangesOf(file: CardFile, start: number, end: number): ByteRange[] {
    const { dataOffset, clusterSize } = this.geometry;
    const ranges: ByteRange[] = [];
    let fileOffset = 0;
    for (const run of file.runs) {
      const runBytes = run.count * clusterSize;
      const from = Math.max(start, fileOffset);
      const to = Math.min(end, fileOffset + runBytes);
      if (from < to) {
        const base = dataOffset + (run.first - 2) * clusterSize - fileOffset;
        const last = ranges[ranges.length - 1];
        if (last !== undefined && last.end === base + from) last.end = base + to;
        else ranges.push({ start: base + from, end: base + to });
      }
      fileOffset += runBytes;
      if (fileOffset >= end) break;
    }
    return ranges;
  }

  /** The file's data in pieces of at most 1 MiB, as far as its clusters reach. */
  async *data(file: CardFile): AsyncGenerator<FilePiece> {
    const buffer = this.buffers.pop() ?? this.medium.allocate(PIECE);
    try {
      yield* this.pieces(file, buffer);
    } finally {
      this.buffers.push(buffer);
    }
  }

  private async *pieces(file: CardFile, buffer: Buffer): AsyncGenerator<FilePiece> {
    const { dataOffset, clusterSize } = this.geometry;
    let offset = 0;
    for (const run of file.runs) {
      const runStart = dataOffset + (run.first - 2) * clusterSize;
      const runBytes = run.count * clusterSize;
      for (let done = 0; done < runBytes && offset < file.size;) {
        if (this.signal?.aborted) throw new CancelledError();
        // Whole clusters: aligned for direct I/O; the slack of the last one is cut off below.
        const length = Math.min(PIECE, runBytes - done);
        const position = runStart + done;
        const view = buffer.subarray(0, length);
        await this.readExactly(view, position);
        const useful = Math.min(length, file.size - offset);
        this.onRead?.(useful);
        yield { offset, bytes: view.subarray(0, useful) };
        offset += useful;
        done += length;
      }
    }
  }

  /** A small file whole; null when it is larger than `limit`. Throws a read error as it is. */
  async readSmall(file: CardFile, limit: number): Promise<Buffer | null> {
    if (file.size > limit) return null;
    const parts: Buffer[] = [];
    for await (const piece of this.data(file)) parts.push(Buffer.from(piece.bytes));
    return Buffer.concat(parts);
  }

  /** The file's SHA-256, or why it cannot be read (a broken chain, an I/O error), computed once. */
  async digest(file: CardFile): Promise<FileDigest> {
    const known = this.digests.get(file);
    if (known !== undefined) return known;
    let result: FileDigest;
    if (file.unreadable !== null) {
      result = { ok: false, message: file.unreadable, ranges: this.ranges(file) };
    } else {
      const hash = createHash('sha256');
      let last = 0;
      try {
        for await (const piece of this.data(file)) {
          last = piece.offset;
          hash.update(piece.bytes);
        }
        result = { ok: true, sha256: hash.digest('hex') };
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        result = {
          ok: false,
          message: `reading it failed: ${displayText(message)}`,
          ranges: this.rangesOf(file, last, Math.min(file.size, last + PIECE)),
        };
      }
    }
    this.digests.set(file, result);
    return result;
  }

  /** A digest computed elsewhere (while comparing with the boot media). */
  recordDigest(file: CardFile, sha256: string): void {
    this.digests.set(file, { ok: true, sha256 });
  }

  hasDigest(file: CardFile): boolean {
    return this.digests.has(file);
  }

  private async readExactly(view: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < view.length) {
      const count = await this.medium.read(view.subarray(done), position + done);
      if (count === 0) {
        throw new AppError('invalid-media', `the medium ends at byte ${position + done}`, {
          location: `${this.medium.description}, bytes ${position}-${position + view.length - 1}`,
        });
      }
      done += count;
    }
  }
}

function foldPath(path: string): string {
  return path.split('/').map(foldName).join('/');
}
