#!/usr/bin/env bash
# Installs the relman binary for a GitHub Action step (shared by every relman action).
#
# Order: a binary already on PATH (RELMAN_USE_PATH=true) → the runner's tool cache → the release
# asset for this runner's OS/arch, sha256-verified before it is unpacked or run → a build of the
# action's own source with cargo. A checksum mismatch is fatal: it never falls back.
#
# Inputs (environment only, never interpolated into this script):
#   RELMAN_ACTION_PATH   the action folder ($GITHUB_ACTION_PATH)
#   RELMAN_VERSION       version to install; default: the version in the action's own Cargo.toml
#                        (so it is pinned to the action's ref), or a VERSION file (mirrors)
#   RELMAN_DOWNLOAD_URL  folder holding the release assets relman-<target>.tar.gz (default: the
#                        GitHub release v<version>). The checksum is read from the asset URL +
#                        ".sha256" unless RELMAN_SHA256 pins it.
#   RELMAN_SHA256        expected sha256 of the archive (optional, strongest)
#   RELMAN_USE_PATH      "true": use `relman` from PATH, install nothing
# Outputs: `path` (the binary) in $GITHUB_OUTPUT; its folder on $GITHUB_PATH.
set -euo pipefail

log() { printf 'relman-install: %s\n' "$*" >&2; }
die() { printf '::error title=relman install::%s\n' "$*"; exit 1; }
out() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'path=%s\n' "$1" >>"$GITHUB_OUTPUT"; fi
  if [ -n "${GITHUB_PATH:-}" ]; then dirname -- "$1" >>"$GITHUB_PATH"; fi
  log "using $1"
}

action_path="${RELMAN_ACTION_PATH:-${GITHUB_ACTION_PATH:-$(cd -- "$(dirname -- "$0")/.." && pwd)}}"
# The source root: the action folder itself (root action) or its parent (changelog/, gate/, …).
src=""
for d in "$action_path" "$action_path/.."; do
  if [ -f "$d/Cargo.toml" ] && [ -d "$d/crates/relman-core" ]; then src="$(cd -- "$d" && pwd)"; break; fi
done

if [ "${RELMAN_USE_PATH:-false}" = "true" ]; then
  bin="$(command -v relman || true)"
  [ -n "$bin" ] || die "use-path is true but relman is not on PATH"
  out "$bin"; exit 0
fi

version="${RELMAN_VERSION:-}"
version="${version#v}"
if [ -z "$version" ] && [ -n "$src" ]; then
  version="$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$src/Cargo.toml" | head -n1)"
fi
if [ -z "$version" ] && [ -f "$action_path/VERSION" ]; then version="$(tr -d ' \n\r' <"$action_path/VERSION")"; fi
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) die "cannot tell which relman version to install (set the version input)";;
esac
case "$version" in *[!0-9A-Za-z.+-]*) die "invalid version";; esac

os="${RUNNER_OS:-$(uname -s)}"; arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os" in Linux) os=linux;; macOS|Darwin) os=macos;; Windows|MINGW*|MSYS*) os=windows;; *) die "unsupported OS $os";; esac
case "$arch" in X64|x86_64|amd64) arch=x86_64;; ARM64|aarch64|arm64) arch=aarch64;; *) die "unsupported arch $arch";; esac
case "$os" in
  linux) target="$arch-unknown-linux-musl";;
  macos) target="$arch-apple-darwin";;
  windows) target="$arch-pc-windows-msvc";;
esac
exe=relman; [ "$os" = windows ] && exe=relman.exe

sha256() { # file, or - for standard input
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# The release asset URL, pinned to the version (so to the action's ref):
#   https://github.com/relman/relman/releases/download/v<version>/relman-<target>.tar.gz
base="${RELMAN_DOWNLOAD_URL:-https://github.com/relman/relman/releases/download/v$version}"
# A mirror is trusted only over https; plain http only to this machine (tests, a local proxy).
# The whole authority (what precedes the path) must be a loopback name and an optional port: a
# prefix match let `http://127.0.0.1@mirror.example/` or `http://127.0.0.1.example/` through, and
# curl connects to the host after the `@`.
loopback='^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost|\[::1\])(:[0-9]{1,5})?$'
authority="${base#http://}"; authority="${authority%%[/?#]*}"
case "$base" in
  https://*) ;;
  http://*) [[ $authority =~ $loopback ]] || die "download-url must be https (plain http only to loopback)";;
  *) die "download-url must be https (plain http only to loopback)";;
esac

# The cache is keyed by where the binary came from, not only by version and arch: a job that
# installed from another download-url (a fork's, on a shared self-hosted runner) fills a slot
# that no other origin ever reads. Each slot records the archive's sha256 and the binary's, and a
# hit is run only when the binary still has its recorded hash and, with RELMAN_SHA256 pinned, the
# archive it came from had exactly that hash.
cache_root="${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/relman"
origin="$(printf '%s' "$base" | sha256 - | cut -c1-16)"
dir="$cache_root/$version/$arch/$origin"
if [ -f "$dir.complete" ] && [ -x "$dir/$exe" ]; then
  recorded_bin="$(sed -n 's/^binary //p' "$dir.complete")"
  recorded_archive="$(sed -n 's/^archive //p' "$dir.complete")"
  if [ -n "$recorded_bin" ] && [ "$(sha256 "$dir/$exe")" = "$recorded_bin" ] &&
     { [ -z "${RELMAN_SHA256:-}" ] || [ "$recorded_archive" = "$RELMAN_SHA256" ]; }; then
    out "$dir/$exe"; exit 0
  fi
  log "cached relman $version does not match its recorded or pinned sha256; installing again"
  rm -f -- "$dir.complete"
fi
fetch() { # url dest: 4 attempts with back-off
  local i
  for i in 1 2 3 4; do
    if curl -fsSL --proto '=https,http' --connect-timeout 10 --max-time 120 -o "$2" "$1"; then return 0; fi
    [ "$i" = 4 ] || { log "download failed (attempt $i), retrying"; sleep $((i * 2)); }
  done
  return 1
}

url="${base%/}/relman-$target.tar.gz"
tmp="$(mktemp -d)"; trap 'rm -rf -- "$tmp"' EXIT
if fetch "$url" "$tmp/relman.tar.gz"; then
  want="${RELMAN_SHA256:-}"
  if [ -z "$want" ]; then
    fetch "$url.sha256" "$tmp/sum" || die "no checksum at $url.sha256"
    want="$(cut -d' ' -f1 <"$tmp/sum" | tr -d '\r\n')"
  fi
  got="$(sha256 "$tmp/relman.tar.gz")"
  [ "$got" = "$want" ] || die "sha256 mismatch for $url: expected $want, got $got"
  mkdir -p "$tmp/x" && tar -xzf "$tmp/relman.tar.gz" -C "$tmp/x"
  found="$(find "$tmp/x" -type f -name "$exe" | head -n1)"
  [ -n "$found" ] || die "archive has no $exe"
  mkdir -p "$dir" && cp "$found" "$dir/$exe" && chmod +x "$dir/$exe"
  archive_sha="$got"
elif [ -n "$src" ] && command -v cargo >/dev/null 2>&1; then
  log "no prebuilt binary for $target; building relman $version from $src"
  cargo install --quiet --locked --path "$src" --root "$tmp/build" --bin relman
  mkdir -p "$dir" && cp "$tmp/build/bin/$exe" "$dir/$exe"
  archive_sha=source
else
  die "cannot download $url and cannot build from source (no cargo or no source)"
fi
printf 'archive %s\nbinary %s\n' "$archive_sha" "$(sha256 "$dir/$exe")" >"$dir.complete.tmp"
mv -f -- "$dir.complete.tmp" "$dir.complete"
out "$dir/$exe"
