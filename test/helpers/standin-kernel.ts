import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * A stand-in for Alpine's kernel and initramfs in boot tests: a Debian cloud kernel
 * (scripts/fetch-test-kernel.sh puts it in <repo>/.cache/test-kernel, or $APKOVL_TEST_KERNEL_DIR
 * names another folder holding the same dpkg -x tree) and a tiny initramfs of Debian's static
 * busybox, the kernel modules named, and a shell script as /init.
 */

export interface TestKernel {
  vmlinuz: string;
  /** lib/modules/<version> of the same kernel. */
  modulesDir: string;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Where the test kernel is expected: $APKOVL_TEST_KERNEL_DIR, else <repo>/.cache/test-kernel. */
export function testKernelDir(): string {
  return process.env.APKOVL_TEST_KERNEL_DIR ?? path.join(repoRoot(), '.cache', 'test-kernel');
}

/** The kernel fetched by scripts/fetch-test-kernel.sh, or null when it is not there. */
export function testKernel(): TestKernel | null {
  const root = testKernelDir();
  const boot = path.join(root, 'boot');
  if (!existsSync(boot)) return null;
  for (const name of readdirSync(boot).sort()) {
    if (!name.startsWith('vmlinuz-')) continue;
    const version = name.slice('vmlinuz-'.length);
    for (const lib of ['lib', 'usr/lib']) {
      const modulesDir = path.join(root, lib, 'modules', version);
      if (existsSync(modulesDir)) return { vmlinuz: path.join(boot, name), modulesDir };
    }
  }
  return null;
}

/** Why boot tests cannot run, naming the script that fixes it; null when the kernel is there. */
export function testKernelMissingReason(): string | null {
  if (testKernel() !== null) return null;
  return `a test kernel in ${testKernelDir()} (run scripts/fetch-test-kernel.sh)`;
}

/**
 * Static busybox for the initramfs: Debian's busybox-static, unpacked beside the kernel by
 * scripts/fetch-test-kernel.sh. It is not installed: it would replace the machine's busybox,
 * whose shell runs programs from PATH (the first-boot report tests put stand-ins there), where
 * the static build's shell prefers its own applets.
 */
export const STATIC_BUSYBOX = path.join(testKernelDir(), 'busybox-static', 'bin', 'busybox');

/** Whether that busybox is there and statically linked (a dynamic one cannot run in our initramfs). */
export function haveStaticBusybox(): boolean {
  if (!existsSync(STATIC_BUSYBOX)) return false;
  const elf = readFileSync(STATIC_BUSYBOX);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // ELF, 64-bit
  // A dynamically linked program has a PT_INTERP (3) program header naming ld.so.
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let index = 0; index < elf.readUInt16LE(0x38); index += 1)
    if (elf.readUInt32LE(phoff + index * phentsize) === 3) return false;
  return true;
}

/** The modules the find-filesystem boot needs: virtio disks, ISO 9660 and FAT. */
export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'isofs', 'vfat', 'nls_cp437', 'nls_ascii'];

// --- cpio (newc) -------------------------------------------------------------------------------

export interface CpioEntry {
  name: string;
  /** File type and permission bits (0o100755, 0o40755, 0o20600, 0o120777). */
  mode: number;
  data?: Buffer;
  /** Device number of a character or block special file. */
  rdev?: [number, number];
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/** A cpio archive in the "new ASCII" (newc) format the kernel unpacks an initramfs from. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const hex = (value: number) => value.toString(16).padStart(8, '0');
  const push = (entry: CpioEntry) => {
    const data = entry.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${entry.name}\0`);
    const [rmajor, rminor] = entry.rdev ?? [0, 0];
    const fields = [ino++, entry.mode, 0, 0, (entry.mode & 0o170000) === 0o40000 ? 2 : 1, 0, data.length];
    const header = '070701' + fields.map(hex).join('') + [0, 0, rmajor, rminor, name.length, 0].map(hex).join('');
    const head = Buffer.concat([Buffer.from(header, 'ascii'), name]);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  };
  entries.forEach(push);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

// --- modules -----------------------------------------------------------------------------------

function moduleIndex(modulesDir: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.ko')) index.set(name.slice(0, -3).replace(/-/g, '_'), file);
    }
  };
  walk(path.join(modulesDir, 'kernel'));
  return index;
}

/** `depends=` of a module's .modinfo section (uncompressed .ko only). */
export function moduleDepends(file: string): string[] {
  const data = readFileSync(file);
  const at = data.indexOf('\0depends=');
  if (at < 0) return [];
  const end = data.indexOf(0, at + 1);
  const list = data.subarray(at + '\0depends='.length, end).toString('ascii');
  return list === '' ? [] : list.split(',').map((name) => name.replace(/-/g, '_'));
}

/** The modules named plus what they depend on, in an order insmod accepts. */
export function resolveModules(modulesDir: string, names: string[]): { name: string; file: string }[] {
  const index = moduleIndex(modulesDir);
  const ordered: { name: string; file: string }[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, chain: string[]) => {
    const name = raw.replace(/-/g, '_');
    if (seen.has(name)) return;
    const file = index.get(name);
    if (file === undefined)
      throw new Error(`kernel module ${name} (needed by ${chain.join(' <- ') || 'the test'}) is not in ${modulesDir}`);
    seen.add(name);
    for (const dependency of moduleDepends(file)) visit(dependency, [name, ...chain]);
    ordered.push({ name, file });
  };
  for (const name of names) visit(name, []);
  return ordered;
}

// --- initramfs ---------------------------------------------------------------------------------

/**
 * A gzip'd newc initramfs: /bin/busybox (static), /lib/modules/<name>.ko for the modules named
 * and their dependencies, /etc/modules listing them in load order, /dev/console, `files` (path ->
 * content), and `script` as /init (run by busybox sh; it loads /etc/modules itself).
 */
export function makeStandinInitramfs(options: {
  script: string;
  modules: string[];
  modulesDir: string;
  files?: Record<string, string | Buffer>;
}): Buffer {
  if (!haveStaticBusybox())
    throw new Error(`${STATIC_BUSYBOX} is not a static busybox (run scripts/fetch-test-kernel.sh)`);
  const modules = resolveModules(options.modulesDir, options.modules);
  const dir = (name: string): CpioEntry => ({ name, mode: 0o40755 });
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'etc', 'lib', 'lib/modules', 'media', 'proc', 'sys', 'tmp'].map(dir),
    { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
    { name: 'bin/busybox', mode: 0o100755, data: readFileSync(STATIC_BUSYBOX) },
    { name: 'bin/sh', mode: 0o120777, data: Buffer.from('busybox') },
    { name: 'init', mode: 0o100755, data: Buffer.from(options.script) },
    { name: 'etc/modules', mode: 0o100644, data: Buffer.from(modules.map((m) => `${m.name}\n`).join('')) },
    ...modules.map((m) => ({ name: `lib/modules/${m.name}.ko`, mode: 0o100644, data: readFileSync(m.file) })),
  ];
  const made = new Set(entries.map((entry) => entry.name));
  for (const [name, content] of Object.entries(options.files ?? {})) {
    const parts = name.replace(/^\/+/, '').split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join('/');
      if (!made.has(parent)) entries.push(dir(parent));
      made.add(parent);
    }
    entries.push({ name: parts.join('/'), mode: 0o100644, data: Buffer.from(content) });
  }
  return gzipSync(cpioNewc(entries), { level: 6 });
}

// --- the nlplug-findfs stand-in ----------------------------------------------------------------

/** The start of every stand-in /init: busybox's applets, /proc, /sys, /dev, the console. */
export const STANDIN_PREAMBLE = `#!/bin/sh
/bin/busybox mkdir -p /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
`;

/**
 * /init for a stand-in initramfs that looks for boot media the way Alpine's nlplug-findfs does
 * (docs: alpine-boot.md §1.3), and reports on the serial console, one line each:
 *
 *   FINDFS: start
 *   FINDFS: cmdline <the kernel's command line>
 *   FINDFS: device <dev> <type|none>          every block device, in scan order: a disk, then
 *                                             its partitions by number (uevent order)
 *   FINDFS: mounted <dev> <type>              mounted read-only at /media/<dev>
 *   FINDFS: mount-failed <dev> <error text>   e.g. "... Device or resource busy" (EBUSY)
 *   FINDFS: repository /media/<dev>/<dir>     a top-level directory holding .boot_repository
 *   FINDFS: apkovl /media/<dev>/<file>        a top-level file matching *.apkovl.tar.gz*
 *   FINDFS: kept <dev> | unmounted <dev>      kept when it held a repository or an apkovl
 *   FINDFS: stop <dev>                        one device held both: nlplug-findfs stops there
 *   FINDFS: sha256 <path> <hash>              boot/{vmlinuz,initramfs,modloop}-* of every kept
 *                                             device with a repository, and every apkovl
 *   FINDFS: hostname <apkovl> <name>          etc/hostname inside each apkovl (busybox tar)
 *   FINDFS: done                              then poweroff -f
 *
 * Types come from a small blkid stand-in (Debian's static busybox has no blkid): "CD001" at
 * byte 32769 is iso9660, a FAT12/16/32 boot sector is vfat. Differences from nlplug-findfs: no
 * uevent timing (a disk's partitions are read from sysfs once the disk is there) and no
 * raid/LVM handling.
 */
export function findfsScript(): string {
  return `${STANDIN_PREAMBLE}say() { echo "FINDFS: $*"; }
say start
say cmdline "$(cat /proc/cmdline)"
while read -r module; do
  insmod "/lib/modules/$module.ko" || say insmod-failed "$module"
done </etc/modules
# Wait up to 30 s for the first disk (virtio probes as its module loads; slow under load).
tries=0
while [ -z "$(ls /sys/block | grep -v -e '^loop' -e '^ram')" ] && [ $tries -lt 300 ]; do
  sleep 0.1; tries=$((tries + 1))
done
probe() {
  magic=$(dd if="/dev/$1" bs=1 skip=32769 count=5 2>/dev/null)
  [ "$magic" = CD001 ] && { echo iso9660; return; }
  signature=$(dd if="/dev/$1" bs=1 skip=510 count=2 2>/dev/null | od -An -tx1 | tr -d ' \\n')
  if [ "$signature" = 55aa ]; then
    fat16=$(dd if="/dev/$1" bs=1 skip=54 count=5 2>/dev/null)
    fat32=$(dd if="/dev/$1" bs=1 skip=82 count=5 2>/dev/null)
    case "$fat16$fat32" in *FAT1[26]*|*FAT32*) echo vfat; return ;; esac
  fi
  echo none
}
devices() {
  for disk in $(ls /sys/block | grep -v -e '^loop' -e '^ram'); do
    echo "$disk"
    ls "/sys/block/$disk" | grep "^$disk" | sed "s/^$disk[p]*//" | sort -n | while read -r n; do
      [ -e "/sys/block/$disk/$disk$n" ] && echo "$disk$n" || echo "\${disk}p$n"
    done
  done
}
repositories=""
for dev in $(devices); do
  type=$(probe "$dev")
  say device "$dev" "$type"
  [ "$type" = none ] && continue
  grep -q "^/dev/$dev " /proc/mounts && continue
  mnt="/media/$dev"
  mkdir -p "$mnt"
  if ! error=$(mount -o ro -t "$type" "/dev/$dev" "$mnt" 2>&1); then
    say mount-failed "$dev" "$error"
    rmdir "$mnt"
    continue
  fi
  say mounted "$dev" "$type"
  found_repository=""; found_apkovl=""
  for entry in "$mnt"/* "$mnt"/.[!.]*; do
    [ -e "$entry" ] || continue
    if [ -d "$entry" ] && [ -e "$entry/.boot_repository" ]; then
      say repository "$entry"; found_repository=1
    elif [ -f "$entry" ]; then
      case "\${entry##*/}" in *.apkovl.tar.gz*) say apkovl "$entry"; found_apkovl=1; echo "$entry" >>/tmp/apkovls ;; esac
    fi
  done
  if [ -n "$found_repository$found_apkovl" ]; then
    say kept "$dev"
    [ -n "$found_repository" ] && repositories="$repositories $mnt"
    if [ -n "$found_repository" ] && [ -n "$found_apkovl" ]; then say stop "$dev"; break; fi
  else
    umount "$mnt" && say unmounted "$dev"
    rmdir "$mnt"
  fi
done
for mnt in $repositories; do
  for file in "$mnt"/boot/vmlinuz-* "$mnt"/boot/initramfs-* "$mnt"/boot/modloop-*; do
    [ -f "$file" ] && say sha256 "$file" "$(sha256sum "$file" | cut -d ' ' -f 1)"
  done
done
if [ -f /tmp/apkovls ]; then
  while read -r ovl; do
    say sha256 "$ovl" "$(sha256sum "$ovl" | cut -d ' ' -f 1)"
    name=$(tar -xzOf "$ovl" etc/hostname 2>/dev/null || tar -xzOf "$ovl" ./etc/hostname 2>/dev/null)
    say hostname "$ovl" "$(echo $name)"
  done </tmp/apkovls
fi
say done
sync
poweroff -f
echo o >/proc/sysrq-trigger
`;
}

// --- parsing -----------------------------------------------------------------------------------

export interface FindfsLine {
  kind: string;
  args: string[];
  /** The rest of the line after the kind (error texts keep their spaces). */
  rest: string;
}

/** The FINDFS lines of a console log, in order (carriage returns and other noise dropped). */
export function parseFindfsLines(output: string): FindfsLine[] {
  const lines: FindfsLine[] = [];
  for (const raw of output.split('\n')) {
    const match = /FINDFS: (\S+) ?(.*)$/.exec(raw.replace(/\r/g, ''));
    if (!match) continue;
    const rest = (match[2] ?? '').trim();
    lines.push({ kind: match[1] ?? '', args: rest === '' ? [] : rest.split(/\s+/), rest });
  }
  return lines;
}

/** What the stand-in initramfs saw, from its FINDFS lines. */
export interface FindfsReport {
  /** Block devices in scan order, with the probed type ("none" without a filesystem). */
  devices: { dev: string; type: string }[];
  mounted: Map<string, string>;
  mountFailed: Map<string, string>;
  repositories: string[];
  apkovls: string[];
  /** Devices kept mounted. */
  kept: string[];
  sha256: Map<string, string>;
  /** apkovl path -> hostname inside it. */
  hostnames: Map<string, string>;
  /** The kernel's command line, as /proc/cmdline says. */
  cmdline: string | null;
  done: boolean;
}

export function findfsReport(lines: FindfsLine[]): FindfsReport {
  const report: FindfsReport = {
    devices: [],
    mounted: new Map(),
    mountFailed: new Map(),
    repositories: [],
    apkovls: [],
    kept: [],
    sha256: new Map(),
    hostnames: new Map(),
    cmdline: null,
    done: false,
  };
  for (const { kind, args, rest } of lines) {
    const [first = '', second = ''] = args;
    const last = args[args.length - 1] ?? '';
    if (kind === 'device') report.devices.push({ dev: first, type: second });
    else if (kind === 'mounted') report.mounted.set(first, second);
    else if (kind === 'mount-failed') report.mountFailed.set(first, rest.slice(first.length).trim());
    else if (kind === 'repository') report.repositories.push(rest);
    else if (kind === 'apkovl') report.apkovls.push(rest);
    else if (kind === 'kept') report.kept.push(first);
    else if (kind === 'sha256') report.sha256.set(rest.slice(0, rest.length - last.length).trim(), last);
    else if (kind === 'hostname') report.hostnames.set(first, second);
    else if (kind === 'done') report.done = true;
    else if (kind === 'cmdline') report.cmdline = rest;
  }
  return report;
}
