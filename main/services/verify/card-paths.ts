import { CARD_MANIFEST_NAME } from '../../../shared/model/card-manifest.js';
import { FIRST_BOOT_REPORT_FILE } from '../../../shared/model/first-boot-report.js';
import { isApkovlName } from '../boot-media/media-path.js';
import { foldName } from '../image/fat-names.js';

/**
 * What the names of files on a card mean: the tool's own files, what a running machine writes
 * (its first-boot report, the apk cache, lbu's backups) and what the initramfs takes as an apkovl.
 */

const same = (left: string, right: string) => foldName(left) === foldName(right);

/** A file at the root the initramfs takes as an apkovl (`*.apkovl.tar.gz*`, as nlplug-findfs matches). */
export function isRootApkovl(path: string): boolean {
  return !path.includes('/') && isApkovlName(path);
}

export function isManifest(path: string): boolean {
  return same(path, CARD_MANIFEST_NAME);
}

export function isFirstBootReport(path: string): boolean {
  return same(path, FIRST_BOOT_REPORT_FILE);
}

/** A package the machine downloaded into the apk cache on the card (`persistence.apk_cache`). */
export function isApkCacheFile(path: string): boolean {
  return /^cache\//i.test(path);
}

/** The backup `lbu commit` keeps of the apkovl it replaces: `<host>.<YYYYmmddHHMMSS>.tar.gz`. */
export function isLbuBackup(path: string): boolean {
  return !path.includes('/') && /^.+\.\d{14}\.tar\.gz$/.test(path);
}

/** Where fsck.fat saves chains it found belonging to no file. */
export function isFsckRecovery(path: string): boolean {
  return /^FSCK\d{4}\.REC$/i.test(path);
}
