#!/usr/bin/env bash
# The whole test suite, as README.md documents it. Installs what the tests need (from the
# Rust, PyPI, npm and Debian registries), so a new machine with a Rust toolchain passes it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n=== %s\n' "$*"; }

step "toolchain"
cargo --version
command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq git; }
# tests/install_cache.rs runs scripts/install.sh, which downloads with curl.
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --lib --bins --locked -- -D warnings

step "unit, fixture and schema tests"
cargo test --workspace --locked

step "forge contract tests (Prism)"
bash tests/contract/run.sh

if [ -x tests/ci-e2e/run.sh ]; then
  step "actions and components, run as users run them"
  bash tests/ci-e2e/run.sh
fi
