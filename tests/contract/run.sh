#!/usr/bin/env bash
# Contract tests of the forge backends against the forges' own API descriptions, served by
# Prism (issue #4): every request relman sends for releases, deployments, dispatches and
# evidence must be accepted by the description.
#
#   bash tests/contract/run.sh
#
# - Installs Prism and GitHub's description (`@octokit/openapi`) into target/contract-tools,
#   once (pinned, quiet).
# - GitHub: `prism mock` on generated/api.github.com.json (≈40 s to load).
# - GitLab: the description patched for Prism, from $RELMAN_GITLAB_OPENAPI (.ci/run points it
#   at ../shared/contracts/gitlab-v4.mock.openapi-v3.yaml). It is not part of the project:
#   when the variable is unset or the file is missing, the GitLab part is skipped, and said so.
# - Runs `cargo test -p relman-forge --test contract -- --ignored` against the servers
#   (crates/relman-forge/tests/contract.rs explains how requests are judged).
# Prism runs without `--errors`: request violations are answered 400/422 either way, and
# `--errors` would also fail on the descriptions' own examples (GitLab's do not match its
# schemas). Prism does not flag unknown query parameters; unknown routes answer 404
# NO_PATH_MATCHED, which the test reports.
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "$0")/../.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/target/contract-tools"
PRISM_VERSION=5.16.0
OCTOKIT_OPENAPI_VERSION=23.0.2
START=$(date +%s)

mkdir -p "$TOOLS"
stamp="$TOOLS/.installed-prism-$PRISM_VERSION-openapi-$OCTOKIT_OPENAPI_VERSION"
if [ ! -f "$stamp" ]; then
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" \
    "@stoplight/prism-cli@$PRISM_VERSION" "@octokit/openapi@$OCTOKIT_OPENAPI_VERSION" \
    >"$TOOLS/npm.log" 2>&1 || { cat "$TOOLS/npm.log" >&2; exit 1; }
  touch "$stamp"
fi
PRISM="$TOOLS/node_modules/.bin/prism"
GITHUB_SPEC="$TOOLS/node_modules/@octokit/openapi/generated/api.github.com.json"
[ -x "$PRISM" ] && [ -f "$GITHUB_SPEC" ] || { echo "contract: Prism or the GitHub description is missing in $TOOLS" >&2; exit 1; }

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_prism NAME SPEC: starts `prism mock` on a free port; sets PORT and PID.
start_prism() {
  PORT="$(free_port)"
  "$PRISM" mock -h 127.0.0.1 -p "$PORT" "$2" >"$TOOLS/prism-$1.log" 2>&1 &
  PID=$!
  pids+=("$PID")
}

# wait_prism NAME PORT PID TIMEOUT_S: polls until Prism listens (it loads the description
# first), fails with its log if it exits or takes longer than TIMEOUT_S.
wait_prism() {
  local name="$1" port="$2" pid="$3" timeout="$4" waited=$(( $(date +%s) - LOAD_START ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "contract: Prism ($name) exited while loading its description:" >&2
      tail -20 "$TOOLS/prism-$name.log" >&2; exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      echo "contract: Prism ($name) not listening after ${timeout}s:" >&2
      tail -20 "$TOOLS/prism-$name.log" >&2; exit 1
    fi
    sleep 1; waited=$(( $(date +%s) - LOAD_START ))
  done
  echo "contract: Prism $PRISM_VERSION ($name) listening on 127.0.0.1:$port"
}

# Both load at the same time, while the test builds.
LOAD_START=$(date +%s)
start_prism github "$GITHUB_SPEC"
export RELMAN_CONTRACT_GITHUB_URL="http://127.0.0.1:$PORT"
github=("$PORT" "$PID")
run_gitlab=false
if [ -n "${RELMAN_GITLAB_OPENAPI:-}" ] && [ -f "$RELMAN_GITLAB_OPENAPI" ]; then
  run_gitlab=true
  start_prism gitlab "$RELMAN_GITLAB_OPENAPI"
  export RELMAN_CONTRACT_GITLAB_URL="http://127.0.0.1:$PORT"
  wait_prism gitlab "$PORT" "$PID" 300
else
  echo "contract: GitLab part skipped: RELMAN_GITLAB_OPENAPI ${RELMAN_GITLAB_OPENAPI:+($RELMAN_GITLAB_OPENAPI) }does not name an existing file (.ci/run sets it when ../shared/contracts holds the description)"
fi
cargo test -q -p relman-forge --locked --test contract --no-run 2>&1 | grep -v '^ *Executable' || true
wait_prism github "${github[0]}" "${github[1]}" 300

skip=()
$run_gitlab || skip=(--skip gitlab_)
cargo test -q -p relman-forge --locked --test contract -- --ignored --nocapture --test-threads 1 "${skip[@]}"
echo "contract: $(( $(date +%s) - START ))s"
