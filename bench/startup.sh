#!/usr/bin/env bash
# Start-up cost as a CI step sees it, beside `git --version` as the peer in the same run:
# relman's cold start (`relman --version`), its stripped size, and the action's install step
# (scripts/install.sh) when the binary is already in the runner's tool cache.
# Usage: bench/startup.sh [PATH-TO-RELMAN]   (default target/release/relman, built if missing)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELMAN=${1:-$ROOT/target/release/relman}
[ -x "$RELMAN" ] || (cd "$ROOT" && cargo build --release --quiet)
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }

cache=$(mktemp -d); trap 'rm -rf -- "$cache"' EXIT
arch=$(uname -m); [ "$arch" = arm64 ] && arch=aarch64
mkdir -p "$cache/relman/0.0.0-bench/$arch"
cp "$RELMAN" "$cache/relman/0.0.0-bench/$arch/relman" && touch "$cache/relman/0.0.0-bench/$arch.complete"

echo "stripped size: $(( $(stat -c %s "$RELMAN") / 1024 )) KiB ($RELMAN)"
hyperfine -N --warmup 5 --runs 100 \
  -n "relman --version" "$RELMAN --version" \
  -n "git --version (peer)" "git --version" \
  -n "install step, cached" \
  "env RUNNER_TOOL_CACHE=$cache RELMAN_VERSION=0.0.0-bench GITHUB_OUTPUT=/dev/null GITHUB_PATH=/dev/null bash $ROOT/scripts/install.sh"
