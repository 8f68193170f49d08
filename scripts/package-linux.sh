#!/usr/bin/env bash
# Builds the Linux packages (AppImage + deb) with electron-builder, offline: everything it would
# download must already be here. Run from anywhere; writes release/packages/.
#
#   scripts/package-linux.sh           (npm run package:linux)  check, build, package
#   scripts/package-linux.sh --check   only say what is missing (exit 0: ready, 3: missing)
#
# What electron-builder needs besides npm packages, and where this script looks:
#   Electron for linux-<arch>   node_modules/electron/dist/electron (npm install without
#                               ELECTRON_SKIP_BINARY_DOWNLOAD), or APKOVL_ELECTRON_DIST=<dir> with
#                               an unpacked Electron or electron-v<version>-linux-<arch>.zip
#   AppImage tools              APPIMAGE_TOOLS_PATH=<dir>, or appimage-12.0.1 in the
#                               electron-builder cache (ELECTRON_BUILDER_CACHE, ~/.cache/electron-builder)
#   fpm (for the deb)           CUSTOM_FPM_PATH=<file>, USE_SYSTEM_FPM=true with fpm on PATH, or
#                               fpm@2.1.4 in the electron-builder cache
# With internet access, running `npx electron-builder --linux` once fills the cache.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

case "$(node -p process.arch)" in
  x64) arch=x64 fpm_key=linux-amd64 ;;
  arm64) arch=arm64 fpm_key=linux-arm64v8 ;;
  *) echo "package-linux: unsupported architecture $(node -p process.arch)" >&2; exit 2 ;;
esac
electron_version=$(node -p "require('./node_modules/electron/package.json').version")
builder_cache=${ELECTRON_BUILDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/electron-builder}
electron_cache=${ELECTRON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/electron}
electron_zip="electron-v${electron_version}-linux-${arch}.zip"
missing=()

# Electron: an unpacked one (electronDist) or its zip in a folder (electronDist) or in @electron/get's cache.
electron_dist=
if [ -n "${APKOVL_ELECTRON_DIST:-}" ]; then
  if [ -x "$APKOVL_ELECTRON_DIST/electron" ] || [ -f "$APKOVL_ELECTRON_DIST/$electron_zip" ]; then
    electron_dist=$APKOVL_ELECTRON_DIST
  else
    missing+=("Electron binary: APKOVL_ELECTRON_DIST=$APKOVL_ELECTRON_DIST has neither electron nor $electron_zip")
  fi
elif [ -x node_modules/electron/dist/electron ]; then
  electron_dist=node_modules/electron/dist
elif [ -d "$electron_cache" ] && [ -n "$(find "$electron_cache" -name "$electron_zip" -print -quit 2>/dev/null)" ]; then
  electron_dist=
else
  missing+=("Electron binary: no node_modules/electron/dist/electron and no $electron_zip under $electron_cache (set APKOVL_ELECTRON_DIST)")
fi

# AppImage tools (electron-builder's default FUSE2 toolset).
if [ -n "${APPIMAGE_TOOLS_PATH:-}" ]; then
  [ -d "$APPIMAGE_TOOLS_PATH" ] || missing+=("AppImage tools: APPIMAGE_TOOLS_PATH=$APPIMAGE_TOOLS_PATH is not a folder")
elif ! compgen -G "$builder_cache/appimage-12.0.1/appimage-12.0.1*" >/dev/null; then
  missing+=("AppImage tools: no $builder_cache/appimage-12.0.1/appimage-12.0.1.7z (set APPIMAGE_TOOLS_PATH)")
fi

# fpm, which electron-builder uses to make the deb.
if [ -n "${CUSTOM_FPM_PATH:-}" ]; then
  [ -x "$CUSTOM_FPM_PATH" ] || missing+=("fpm: CUSTOM_FPM_PATH=$CUSTOM_FPM_PATH is not an executable file")
elif [ "${USE_SYSTEM_FPM:-}" = true ]; then
  command -v fpm >/dev/null || missing+=("fpm: USE_SYSTEM_FPM=true but no fpm on PATH")
elif ! compgen -G "$builder_cache/fpm@2.1.4/fpm-1.17.0-ruby-3.4.3-$fpm_key*" >/dev/null; then
  missing+=("fpm: no $builder_cache/fpm@2.1.4/fpm-1.17.0-ruby-3.4.3-$fpm_key.7z (set CUSTOM_FPM_PATH, or USE_SYSTEM_FPM=true with fpm installed)")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}"
  echo "package-linux: electron-builder would have to download these; this machine is offline for them" >&2
  exit 3
fi
if [ "${1:-}" = --check ]; then
  echo "ready: Electron ${electron_version} (${electron_dist:-cache}), AppImage tools, fpm"
  exit 0
fi

npm run build
npm run build:worker
config=()
[ -n "$electron_dist" ] && config+=("-c.electronDist=$electron_dist")
npx electron-builder --linux AppImage deb "--$arch" --publish never "${config[@]}"
ls -l release/packages/*.AppImage release/packages/*.deb
