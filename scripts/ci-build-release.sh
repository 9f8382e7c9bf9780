#!/usr/bin/env bash
# Builds a static release archive for one target into dist/: relman-<target>.tar.gz and .sha256.
set -euo pipefail
target="$1"
rustup target add "$target"
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
case "$target" in
  x86_64-unknown-linux-musl)
    sudo apt-get install -y -qq musl-tools
    cargo build --release --locked --target "$target" --bin relman;;
  aarch64-unknown-linux-musl) # cross-compiled: zig is the linker
    python3 -m pip install --quiet ziglang==0.13.0 cargo-zigbuild==0.19.8
    cargo zigbuild --release --locked --target "$target" --bin relman;;
  *) cargo build --release --locked --target "$target" --bin relman;;
esac
exe=relman; case "$target" in *windows*) exe=relman.exe;; esac
mkdir -p dist stage
cp "target/$target/release/$exe" stage/
cp LICENSE* README.md stage/ 2>/dev/null || true
tar -czf "dist/relman-$target.tar.gz" -C stage .
cd dist
if command -v sha256sum >/dev/null; then sha256sum "relman-$target.tar.gz"; else shasum -a 256 "relman-$target.tar.gz"; fi > "relman-$target.tar.gz.sha256"
cat "relman-$target.tar.gz.sha256"
