import type { KeyObject } from 'node:crypto';
import { AppError, CancelledError } from '../../../shared/errors.js';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type { ByteRange, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import type { ApkovlMember } from '../../../shared/rules/apkovl-lint.js';
import { formatBytes } from '../../../shared/model/size.js';
import { displayText } from '../../../shared/rules/display.js';
import { cacheIndexName, cachePackageName } from '../apk/cache-names.js';
import { openApkIndex, verifyApkRange } from '../apk/index-fetch.js';
import { parseApkIndex, type ApkIndex } from '../apk/index-parse.js';
import { resolvePackages, type ResolvedPackage } from '../apk/resolve.js';
import { ApkSignatureError, apkKeyring, parseApkKey, type ApkKeyring } from '../apk/signature.js';
import { bufferRange } from '../boot-media/gzip-end.js';
import { foldName } from '../image/fat-names.js';
import type { CardFile, CardReader } from './card-reader.js';
import { count, makeCheck, problem, showList } from './checks.js';
import { REWRITE_HINT } from './manifest-check.js';

/**
 * The package cache of an offline machine: the boot partition's cache/ folder, where the
 * apkovl's etc/apk/cache link points. apk finds there, without network, the signed index of each
 * repository line (APKINDEX.<8 hex>.tar.gz) and every package the world needs that the boot
 * media's apks/<arch>/ lack (<name>-<version>.<8 hex>.apk). This check does what that apk
 * would: verifies each index's signature, resolves the world against them, and checks each
 * package it needs against its index entry (size and the checksum of its control stream, and
 * the data against the package's datahash).
 */

export const APK_CACHE_TITLE = 'Package cache (offline boot)';
export const OFFLINE_HINT =
  'write the card again with the package cache (apkovl build, with alpine.offline: true in the definition)';
/** The largest index or package read into memory (chromium is about 100 MB). */
const MAX_FILE_BYTES = 1 << 30;
/** Damaged packages each get their own problem, up to this many. */
const MAX_ITEMIZED = 20;

export interface ApkCacheInput {
  card: CardReader;
  /** The apkovl the initramfs would use, or null when it cannot be read. */
  members: ApkovlMember[] | null;
  /** From the card's apks/<arch>/ folder. */
  arch: string | null;
  /** --apk-key files. */
  apkKeys: readonly string[];
  /** The ISO partition of a BIOS+UEFI stick, which holds the boot repository (apks/). */
  iso?: CardReader | null;
  /** The card's manifest: whether the card was written with a package cache. */
  manifest: CardManifest | null;
}

const normal = (name: string) => name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

function memberText(members: ApkovlMember[], name: string): string | null {
  const member = members.find((each) => normal(each.name) === name && each.content !== null);
  return member?.content ? Buffer.from(member.content).toString('utf8') : null;
}

/** The folder of the card the link points at: `/media/<partition>/<folder>` -> `<folder>`. */
function linkedFolder(target: string): string | null {
  return /^\/media\/[^/]+\/(.+?)\/*$/.exec(target)?.[1] ?? null;
}

/** Remote lines of etc/apk/repositories (without their @tag); local ones are the boot media's. */
function remoteRepositories(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/^@\S+\s+/, ''))
    .filter((line) => !line.startsWith('/'));
}

/** The world's entries, without repository tags (name@tag). */
function worldOf(text: string | null): string[] {
  if (text === null) return [];
  return text
    .split(/\s+/)
    .filter((entry) => entry !== '')
    .map((entry) => entry.replace(/@[^<>=~!]+/, ''));
}

/** Bytes named in an error location ("..., bytes 120-4095") as ranges of the medium. */
function rangesIn(card: CardReader, file: CardFile, location: string | undefined): ByteRange[] {
  const match = /bytes (\d+)-(\d+)/.exec(location ?? '');
  if (match === null) return card.ranges(file);
  const start = Number(match[1]);
  const end = Math.min(file.size, Number(match[2]) + 1);
  return start < end ? card.rangesOf(file, start, end) : card.ranges(file);
}

async function keyringFor(
  arch: string,
  apkKeys: readonly string[],
  members: ApkovlMember[],
  problems: VerifyProblem[],
) {
  const base = await apkKeyring(arch, apkKeys);
  const keys = new Map<string, KeyObject>(base.keys);
  const extra = [...base.extra];
  for (const member of members) {
    const name = normal(member.name);
    if (!name.startsWith('etc/apk/keys/') || member.content === null || name.endsWith('/')) continue;
    const keyName = name.slice('etc/apk/keys/'.length);
    if (keyName.includes('/')) continue;
    try {
      keys.set(keyName, parseApkKey(Buffer.from(member.content), `the apkovl's ${name}`));
      extra.push(keyName);
    } catch (error) {
      problems.push(
        problem('warning', `the apkovl's ${displayText(name)} is not an RSA public key: ${(error as Error).message}`, {
          hint: 'replace it with the repository key file (NAME.rsa.pub), or remove it',
        }),
      );
    }
  }
  return { arch, keys, extra } satisfies ApkKeyring;
}

interface OpenedIndex {
  line: string;
  file: CardFile;
  index: ApkIndex;
}

/** The cached index of one repository line, verified and parsed; a problem when it is missing or bad. */
async function openCachedIndex(
  card: CardReader,
  folder: string,
  line: string,
  keyring: ApkKeyring,
  problems: VerifyProblem[],
): Promise<OpenedIndex | null> {
  const name = `${folder}/${cacheIndexName(line)}`;
  const file = card.find(name);
  if (file === null || file.isDirectory) {
    problems.push(
      problem(
        'fault',
        `${displayText(name)} is missing: without it the machine has no index of ${displayText(line)} when it boots without network, and installs nothing from it`,
        { paths: [name], hint: OFFLINE_HINT },
      ),
    );
    return null;
  }
  const shown = displayText(file.path);
  try {
    if (file.unreadable !== null) throw new AppError('invalid-media', file.unreadable, { location: file.path });
    const data = await card.readSmall(file, MAX_FILE_BYTES);
    if (data === null) throw new AppError('invalid-media', `it is ${file.size} bytes, far larger than any index`);
    const opened = await openApkIndex(bufferRange(data), keyring, file.path);
    return { line, file, index: parseApkIndex(opened.text, { source: file.path }) };
  } catch (error) {
    if (error instanceof CancelledError || !(error instanceof AppError)) throw error;
    const unknownKey = error instanceof ApkSignatureError && error.problem === 'unknown-key';
    problems.push(
      problem(unknownKey ? 'fault' : 'damage', `${shown} (the index of ${displayText(line)}): ${error.message}`, {
        paths: [file.path],
        ranges: rangesIn(card, file, error.location),
        hint: unknownKey
          ? `if the repository is yours, trust its key: apkovl verify --apk-key FILE, and put the key in the apkovl's etc/apk/keys/ so that apk trusts it too (${error.hint ?? ''})`
          : REWRITE_HINT,
      }),
    );
    return null;
  }
}

type PackageFound =
  | { where: 'media'; path: string }
  | { where: 'cache'; path: string }
  | { where: 'missing'; path: string }
  | { where: 'bad'; path: string; problem: VerifyProblem };

/** One resolved package against the card: on the boot media, or in the cache and intact. */
async function checkPackage(
  card: CardReader,
  folder: string,
  arch: string,
  pkg: ResolvedPackage,
  iso: CardReader | null,
): Promise<PackageFound> {
  const mediaPath = `apks/${arch}/${pkg.name}-${pkg.version}.apk`;
  const onMedia = card.find(mediaPath) ?? iso?.find(mediaPath) ?? null;
  if (onMedia !== null && !onMedia.isDirectory) return { where: 'media' as const, path: onMedia.path };
  const name = `${folder}/${cachePackageName(pkg.name, pkg.version, pkg.checksumBytes)}`;
  const file = card.find(name);
  if (file === null || file.isDirectory) return { where: 'missing', path: name };
  const entry = { name: pkg.name, version: pkg.version, size: pkg.size, checksum: pkg.checksum };
  const bad = (message: string, ranges: ByteRange[]) => ({
    where: 'bad' as const,
    path: file.path,
    problem: problem(
      'damage',
      `${displayText(file.path)}: ${message}; apk would refuse it and the machine would boot without ${displayText(pkg.name)}`,
      {
        paths: [file.path],
        ranges,
        hint: REWRITE_HINT,
      },
    ),
  });
  if (file.unreadable !== null) return bad(file.unreadable, card.ranges(file));
  if (file.size !== pkg.size) {
    return bad(`it is ${file.size} bytes, the index says ${pkg.size} (S:)`, card.ranges(file));
  }
  try {
    const data = await card.readSmall(file, MAX_FILE_BYTES);
    if (data === null) return bad(`it is ${file.size} bytes, too large to check`, []);
    await verifyApkRange(bufferRange(data), entry, file.path);
    return { where: 'cache', path: file.path };
  } catch (error) {
    if (error instanceof CancelledError || !(error instanceof AppError)) throw error;
    return bad(error.message, rangesIn(card, file, error.location));
  }
}

function skip(summary: string): VerifyCheck {
  return makeCheck('apk-cache', APK_CACHE_TITLE, { summary, skipped: true });
}

const isCacheContent = (path: string) =>
  /\.apk$|^APKINDEX\.[0-9a-f]{8}\.tar\.gz$/i.test(path.slice(path.lastIndexOf('/') + 1));

/**
 * The card's package cache against its indexes. Skipped, with the reason, for a machine that is
 * not offline: the apkovl does not link etc/apk/cache to the boot partition and the card's
 * cache/ folder holds no packages.
 */
export async function checkApkCache(input: ApkCacheInput): Promise<VerifyCheck> {
  const { card, members, arch } = input;
  const link = members?.find((each) => normal(each.name) === 'etc/apk/cache') ?? null;
  const target = link?.linkname ?? null;
  const folder = (target === null ? null : linkedFolder(target)) ?? 'cache';
  const prefix = `${foldName(folder)}/`;
  const inFolder = card.files.filter(
    (file) =>
      !file.isDirectory &&
      file.path.split('/').length === folder.split('/').length + 1 &&
      foldPath(file.path).startsWith(prefix),
  );
  const cached = inFolder.filter((file) => isCacheContent(file.path));
  // Written with a package cache (offline): the manifest lists files in the folder; without a
  // manifest, the folder holds cached indexes. A link alone is persistence.apk_cache: the machine
  // fills the cache itself once it has network, and nothing on the card says what it should hold.
  const written =
    input.manifest === null
      ? cached.some((file) => /^APKINDEX\./i.test(file.path.slice(file.path.lastIndexOf('/') + 1)))
      : input.manifest.files.some((file) => foldPath(file.path).startsWith(prefix));
  if (!written) {
    return skip(
      target === null
        ? 'the machine is not offline: the apkovl does not link etc/apk/cache to the boot partition, and the card was written without a package cache'
        : `the machine is not offline: the card was written without a package cache (etc/apk/cache -> ${displayText(target)} is filled by the machine itself once it has network)`,
    );
  }
  if (members === null) return skip('the apkovl cannot be read: its world and repositories are unknown');
  if (arch === null) return skip('the architecture is unknown (the card has no apks/<arch>/ folder)');

  const problems: VerifyProblem[] = [];
  const details: string[] = [];
  if (target === null) {
    problems.push(
      problem(
        'fault',
        `${folder}/ holds ${count(cached.length, 'package file')}, but the apkovl does not link etc/apk/cache to it: apk will not look there, and the machine needs network to install its packages`,
        { paths: [folder], hint: OFFLINE_HINT },
      ),
    );
  } else if (linkedFolder(target) === null) {
    problems.push(
      problem(
        'warning',
        `etc/apk/cache points at ${displayText(target)}, not into the boot partition (/media/<partition>/...): the cache on the card is not the one apk uses`,
        { hint: 'link etc/apk/cache to <boot mount point>/cache' },
      ),
    );
  } else {
    details.push(`etc/apk/cache -> ${displayText(target)}`);
  }

  const repositoriesText = memberText(members, 'etc/apk/repositories');
  const lines = repositoriesText === null ? [] : remoteRepositories(repositoriesText);
  if (lines.length === 0) {
    problems.push(
      problem(
        'fault',
        'the apkovl lists no network repository in etc/apk/repositories: nothing says which indexes the cache must hold',
        {
          hint: OFFLINE_HINT,
        },
      ),
    );
    return makeCheck('apk-cache', APK_CACHE_TITLE, { summary: 'no repositories', details, problems });
  }
  const keyring = await keyringFor(arch, input.apkKeys, members, problems);
  const opened: OpenedIndex[] = [];
  for (const line of lines) {
    const index = await openCachedIndex(card, folder, line, keyring, problems);
    if (index !== null) opened.push(index);
  }
  const expected = new Set(lines.map((line) => foldName(cacheIndexName(line))));
  if (opened.length < lines.length) {
    details.push(...noteExtras(inFolder, expected));
    return makeCheck('apk-cache', APK_CACHE_TITLE, {
      summary: `${opened.length} of ${count(lines.length, 'cached index', 'cached indexes')} usable: the packages cannot be checked without them`,
      details,
      problems,
    });
  }
  for (const each of opened) {
    details.push(
      `${displayText(each.file.path)}: ${displayText(each.line)}, ${count(each.index.packages.length, 'package')}`,
    );
  }

  const world = worldOf(memberText(members, 'etc/apk/world'));
  let packages: ResolvedPackage[];
  try {
    packages = resolvePackages({ indexes: opened.map((each) => each.index), world, arch }).packages;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    problems.push(
      problem('fault', `the world cannot be installed from the cached indexes: ${error.message}`, {
        paths: ['etc/apk/world'],
        hint: `${error.hint ?? 'fix the world'}; then ${OFFLINE_HINT}`,
      }),
    );
    details.push(...noteExtras(inFolder, expected));
    return makeCheck('apk-cache', APK_CACHE_TITLE, { summary: 'the world does not resolve', details, problems });
  }

  const missing: ResolvedPackage[] = [];
  const damaged: VerifyProblem[] = [];
  let onMedia = 0;
  let inCache = 0;
  let cacheBytes = 0;
  for (const pkg of packages) {
    const found = await checkPackage(card, folder, arch, pkg, input.iso ?? null);
    if (found.where === 'media') onMedia += 1;
    else if (found.where === 'cache') {
      inCache += 1;
      cacheBytes += pkg.size;
    } else if (found.where === 'missing') missing.push(pkg);
    else damaged.push(found.problem);
    expected.add(foldName(found.path.slice(found.path.lastIndexOf('/') + 1)));
  }
  problems.push(...damaged.slice(0, MAX_ITEMIZED));
  const rest = damaged.slice(MAX_ITEMIZED);
  if (rest.length > 0) {
    problems.push(
      problem(
        'damage',
        `${count(rest.length, 'more cached package')} fail their checksum: ${showList(rest.flatMap((each) => each.paths).map(displayText))}`,
        {
          paths: rest.flatMap((each) => each.paths),
          ranges: rest.flatMap((each) => each.ranges),
          hint: REWRITE_HINT,
        },
      ),
    );
  }
  if (missing.length > 0) {
    const names = missing.map((pkg) => `${pkg.name}-${pkg.version}`);
    const why = missing
      .slice(0, 3)
      .map((pkg) => `${pkg.name} (${pkg.chain.join(' -> ')})`)
      .map(displayText);
    problems.push(
      problem(
        'fault',
        `${count(missing.length, 'package')} the world needs ${missing.length === 1 ? 'is' : 'are'} neither on the boot media nor in ${folder}/: ${showList(names.map(displayText))}; without network the machine boots without ${missing.length === 1 ? 'it' : 'them'}. Needed by: ${why.join('; ')}`,
        {
          paths: missing.map((pkg) => `${folder}/${cachePackageName(pkg.name, pkg.version, pkg.checksumBytes)}`),
          hint: OFFLINE_HINT,
        },
      ),
    );
  }
  details.push(...noteExtras(inFolder, expected));
  return makeCheck('apk-cache', APK_CACHE_TITLE, {
    summary: `${count(packages.length, 'package')} the world needs: ${onMedia} on the boot media, ${inCache} in ${folder}/ (${formatBytes(cacheBytes)}) checked against the ${count(opened.length, 'signed index', 'signed indexes')}${missing.length > 0 ? `, ${missing.length} missing` : ''}${damaged.length > 0 ? `, ${damaged.length} damaged` : ''}`,
    details,
    problems,
  });
}

/** Files in the cache folder that no repository line or needed package accounts for: notes, not problems. */
function noteExtras(files: readonly CardFile[], expected: ReadonlySet<string>): string[] {
  const extra = files.filter((file) => !expected.has(foldName(file.path.slice(file.path.lastIndexOf('/') + 1))));
  if (extra.length === 0) return [];
  return [
    `${count(extra.length, 'other file')} in the cache, not needed by this world (apk ignores ${extra.length === 1 ? 'it' : 'them'}; an older version or a package downloaded later): ${showList(extra.map((file) => displayText(file.path)))}`,
  ];
}

function foldPath(path: string): string {
  return path.split('/').map(foldName).join('/');
}
