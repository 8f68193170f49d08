#!/usr/bin/env bash
# Fetches the stand-in kernel the x86 boot tests run (test/helpers/standin-kernel.ts): Debian's
# current cloud kernel (the package linux-image-cloud-amd64 depends on), unpacked with dpkg -x
# into <repo>/.cache/test-kernel (or $APKOVL_TEST_KERNEL_DIR). Needs apt (Debian/Ubuntu); runs
# `apt-get update` first when apt does not know the package yet. Idempotent: does nothing when
# that package version is already there. Prints where the kernel is.
#
#   scripts/fetch-test-kernel.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${APKOVL_TEST_KERNEL_DIR:-$root/.cache/test-kernel}
meta=linux-image-cloud-amd64

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

depends() { apt-cache show --no-all-versions "$meta" 2>/dev/null | sed -n 's/^Depends: //p' | head -n 1; }
line=$(depends)
if [ -z "$line" ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  line=$(depends)
fi
# "linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)": the first linux-image-* dependency.
package=$(printf '%s\n' "$line" | tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
if [ -z "$package" ]; then
  echo "fetch-test-kernel: apt knows no $meta with a linux-image-* dependency (is this Debian amd64?)" >&2
  exit 1
fi
version=$(apt-cache show --no-all-versions "$package" | sed -n 's/^Version: //p' | head -n 1)

busybox_version=$(apt-cache show --no-all-versions busybox-static 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
if [ -z "$busybox_version" ]; then
  echo "fetch-test-kernel: apt knows no busybox-static" >&2
  exit 1
fi
wanted="$package $version busybox-static $busybox_version"

if [ -f "$target/.package" ] && [ "$(cat "$target/.package")" = "$wanted" ] &&
  ls "$target"/boot/vmlinuz-* >/dev/null 2>&1 && [ -x "$target/busybox-static/bin/busybox" ]; then
  echo "$target (already there: $package $version)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download drops privileges to _apt where it can: let it write here.
chmod 0777 "$work"
(cd "$work" && apt-get download -qq "$package=$version" "busybox-static=$busybox_version")
rm -rf "$target.new"
mkdir -p "$target.new/busybox-static"
dpkg -x "$(ls "$work"/linux-image-*.deb)" "$target.new"
# Unpacked, not installed: it would replace the machine's busybox (see standin-kernel.ts).
dpkg -x "$(ls "$work"/busybox-static_*.deb)" "$target.new/busybox-static"
echo "$wanted" >"$target.new/.package"
rm -rf "$target"
mv "$target.new" "$target"
ls "$target"/boot/vmlinuz-* "$target/busybox-static/bin/busybox" >/dev/null
echo "$target ($wanted)"
