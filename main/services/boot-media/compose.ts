import { createHash } from 'node:crypto';
import { AppError } from '../../../shared/errors.js';
import { displayText } from '../../../shared/rules/display.js';
import type { CardIdentity } from '../image/card-writer.js';
import { bufferBody, type MediaEntry } from '../image/media-entry.js';
import { isApkovlName } from './media-path.js';

export interface Injection {
  /** Name at the root of the card. */
  name: string;
  data: Buffer;
}

/** A file this tool adds to the card from disk (the body is opened when it is written). */
export interface AddedFile {
  /** Path on the card, e.g. cache/APKINDEX.0a1b2c3d.tar.gz. */
  path: string;
  size: number;
  /** Mixed into the card's serials (e.g. the file's checksum). */
  identity: string;
  body: () => AsyncIterable<Uint8Array>;
}

/** What the media said about themselves, known once they have been read. */
export interface MediaFacts {
  /** The content of `.alpine-release`, e.g. "alpine-rpi-3.22.2 251009". */
  alpineRelease: string | null;
  /** From the `apks/<arch>/` folder. */
  arch: string | null;
}

export interface ComposeOptions {
  /**
   * The user's apkovl, stored at the root; every other root `*.apkovl.tar.gz*` is dropped. A
   * function is called once the media have been read, so the overlay can match their release.
   */
  overlay?: Injection | ((media: MediaFacts) => Promise<Injection>);
  /** Empty folders to create at the root (the apk cache). */
  directories?: string[];
  /** Files added after the folders (the apk cache's indexes and packages), read when written. */
  files?: AddedFile[];
  /** Replaces (or creates) `usercfg.txt`, which Alpine's config.txt includes. */
  usercfg?: Buffer;
  /** Parameters appended to the single line of `cmdline.txt`. */
  cmdlineAppend?: string[];
  /** Timestamp for the files this tool adds; default: the newest timestamp in the media. */
  sourceDateEpoch?: number;
  /** Mixed into the volume serial, so otherwise identical cards can differ. */
  seed?: string;
  /** Fingerprint of the source (gzip trailer), mixed into the serials. */
  fingerprint?: Buffer;
  /** Name of the media file, for messages. */
  sourceName: string;
  /**
   * The media carry a boot/ folder (default). False for the FAT partition of a BIOS+UEFI stick,
   * which takes only the EFI loader from the ISO.
   */
  bootFolder?: boolean;
}

export interface ComposeReport {
  /** Default or stale overlays removed from the media root. */
  dropped: string[];
  /** Files this tool added or replaced at the root. */
  injected: string[];
  /** The content of `.alpine-release`, e.g. "alpine-rpi-3.22.2 251009". */
  alpineRelease: string | null;
  /** The architecture of the media's package repository (apks/<arch>/). */
  arch: string | null;
  /** Serials derived from everything composed (available once the entries are consumed). */
  identity: CardIdentity | null;
  /** The timestamp of the files this tool adds (Unix seconds), known once the media have been read. */
  contentTime: number | null;
}

export function emptyComposeReport(): ComposeReport {
  return { dropped: [], injected: [], alpineRelease: null, arch: null, identity: null, contentTime: null };
}

const MAX_SMALL_FILE = 64 * 1024;

async function collect(body: AsyncIterable<Uint8Array>, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > MAX_SMALL_FILE) {
      throw new AppError('invalid-media', `"${displayText(path)}" is larger than ${MAX_SMALL_FILE} bytes`, {
        location: displayText(path),
      });
    }
    parts.push(Buffer.from(part));
  }
  return Buffer.concat(parts);
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const part of body) void part;
}

/** Kernel parameters to append: not empty, no line breaks (the kernel reads one line); trimmed. */
export function checkParameters(parameters: readonly string[]): string[] {
  for (const parameter of parameters) {
    if (parameter.trim() === '' || /[\r\n]/.test(parameter)) {
      throw new AppError('invalid-input', `"${displayText(parameter)}" is not a kernel parameter`, {
        location: '--cmdline-append',
        hint: 'give parameters such as usbdelay=5, without line breaks',
      });
    }
  }
  return parameters.map((parameter) => parameter.trim());
}

/** Append kernel parameters to the one line of cmdline.txt (Raspberry Pi), keeping its line ending. */
export function appendToCmdline(original: string, parameters: readonly string[]): string {
  const line = original.replace(/\r?\n+$/, '');
  if (/[\r\n]/.test(line)) {
    throw new AppError('invalid-media', 'cmdline.txt has more than one line; the kernel reads only the first', {
      location: 'cmdline.txt',
    });
  }
  return `${[line, ...checkParameters(parameters)].join(' ')}\n`;
}

/** Append kernel parameters to every `linux` line of GRUB's grub.cfg (x86 sticks). */
export function appendToGrubConfig(original: string, parameters: readonly string[]): string {
  const extra = checkParameters(parameters).join(' ');
  let found = false;
  const text = original
    .split('\n')
    .map((line) => {
      if (!/^\s*linux\s/.test(line)) return line;
      found = true;
      return `${line.trimEnd()} ${extra}`;
    })
    .join('\n');
  if (!found) {
    throw new AppError('invalid-media', 'boot/grub/grub.cfg has no linux line to append parameters to', {
      location: 'boot/grub/grub.cfg',
    });
  }
  return text;
}

const KERNEL_COMMAND_LINES: Record<string, (original: string, parameters: readonly string[]) => string> = {
  'cmdline.txt': appendToCmdline,
  'boot/grub/grub.cfg': appendToGrubConfig,
};

/**
 * Alpine boot media as they go onto the card: every root-level `*.apkovl.tar.gz*` dropped (the
 * initramfs would pick the first it finds), `cmdline.txt` extended, `usercfg.txt` and the
 * user's apkovl added at the end. Refuses media that are not Alpine's (no `.alpine-release`,
 * no `boot/`). `report` is filled in as the entries are consumed.
 */
export async function* composeBootMedia(
  source: AsyncIterable<MediaEntry>,
  options: ComposeOptions,
  report: ComposeReport,
): AsyncGenerator<MediaEntry> {
  const hash = createHash('sha256');
  hash.update(`seed:${options.seed ?? ''}\n`);
  if (options.fingerprint) hash.update(options.fingerprint);
  let newest = 0;
  let sawBoot = false;
  let sawCmdline = false;
  const replacing = new Set<string>();
  if (options.usercfg !== undefined) replacing.add('usercfg.txt');

  for await (const entry of source) {
    newest = Math.max(newest, entry.mtime);
    const atRoot = !entry.path.includes('/');
    if (entry.path === 'boot' || entry.path.startsWith('boot/')) sawBoot = true;
    const repository = /^apks\/([^/]+)\//.exec(entry.path);
    // What the media say about themselves ends up in messages and the summary: escaped once, here
    // (real values have no control characters, so they are unchanged).
    if (repository?.[1] !== undefined && report.arch === null) report.arch = displayText(repository[1]);
    if (entry.kind !== 'directory' && atRoot && isApkovlName(entry.path)) {
      if (entry.kind === 'file') await drain(entry.body);
      if (!report.dropped.includes(entry.path)) report.dropped.push(entry.path);
      continue;
    }
    if (entry.kind !== 'directory' && atRoot && replacing.has(entry.path)) {
      if (entry.kind === 'file') await drain(entry.body);
      continue;
    }
    let out = entry;
    if (entry.kind === 'file' && entry.path === '.alpine-release') {
      const data = await collect(entry.body, entry.path);
      report.alpineRelease = displayText(data.toString('utf8').trim());
      out = { ...entry, body: bufferBody(data) };
    } else if (entry.kind === 'file' && KERNEL_COMMAND_LINES[entry.path] && options.cmdlineAppend?.length) {
      sawCmdline = true;
      const edit = KERNEL_COMMAND_LINES[entry.path] as (original: string, parameters: readonly string[]) => string;
      const data = Buffer.from(edit((await collect(entry.body, entry.path)).toString('utf8'), options.cmdlineAppend));
      out = { ...entry, size: data.length, body: bufferBody(data) };
    }
    hash.update(
      `${out.kind}\0${out.path}\0${out.mtime}\0${out.kind === 'file' ? out.size : out.kind === 'link' ? out.target : ''}\n`,
    );
    yield out;
  }

  if (report.alpineRelease === null || (!sawBoot && options.bootFolder !== false)) {
    const missing = report.alpineRelease === null ? '.alpine-release' : 'boot/ folder';
    throw new AppError('invalid-media', `this is not Alpine boot media: it has no ${missing}`, {
      location: options.sourceName,
      hint: 'use Alpine boot media such as alpine-rpi-3.22.2-aarch64.tar.gz or alpine-standard-3.22.2-x86_64.iso, unchanged',
    });
  }
  if (options.cmdlineAppend?.length && !sawCmdline) {
    throw new AppError(
      'invalid-media',
      'the boot media have no cmdline.txt or boot/grub/grub.cfg to append parameters to',
      {
        location: options.sourceName,
      },
    );
  }

  const mtime = options.sourceDateEpoch ?? newest;
  report.contentTime = mtime;
  for (const directory of options.directories ?? []) {
    hash.update(`directory\0${directory}\n`);
    yield { kind: 'directory', path: directory, mtime };
  }
  for (const added of options.files ?? []) {
    hash.update(`add\0${added.path}\0${added.size}\0${added.identity}\n`);
    yield { kind: 'file', path: added.path, size: added.size, mtime, body: added.body() };
  }
  const injections: Injection[] = [];
  if (options.usercfg !== undefined) injections.push({ name: 'usercfg.txt', data: options.usercfg });
  if (options.overlay !== undefined) {
    injections.push(
      typeof options.overlay === 'function'
        ? await options.overlay({ alpineRelease: report.alpineRelease, arch: report.arch })
        : options.overlay,
    );
  }
  for (const injection of injections) {
    report.injected.push(injection.name);
    hash.update(`inject\0${injection.name}\0`).update(createHash('sha256').update(injection.data).digest());
    yield { kind: 'file', path: injection.name, size: injection.data.length, mtime, body: bufferBody(injection.data) };
  }
  const digest = hash.digest();
  report.identity = { volumeId: digest.readUInt32LE(0), diskSignature: digest.readUInt32LE(4) };
}
