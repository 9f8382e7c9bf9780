#!/usr/bin/env bash
# The state branch across CI jobs, as users run it (issue #9): a record written by one job is read
# by the next, which starts from a fresh workspace and knows nothing but the remote.
#
#   bash tests/ci-e2e/state.sh WORK BIN     (run.sh calls it; tools from tools.sh on PATH)
#
# WORK is a scratch folder, BIN the folder holding the relman under test. Prints one `ok   …` or
# `FAIL …` line per check (run.sh counts them); exits non-zero when any failed.
#
# 1. act: workflows/state.yml in a clone of the gate fixture whose origin is git_standin.py, a git
#    server on 127.0.0.1 that answers only `x-access-token:<token>` (github.com's rule for the job
#    token). Job `write` runs ./gate (the verdict is pushed to relman/state with the token relman
#    hands to git: persist-credentials is false); job `read` (needs: write) reads it back with
#    `relman audit`. check_state.py compares the record with what the CI said about job `write`.
#    Job `fork` (needs: read) runs ./gate with a token that may fetch but not push, as on a
#    fork's pull request: it answers go and says the verdict was not recorded.
# 2. gitlab-ci-local: gitlab/state.yml, two stages, each job in its own copy of the project
#    (--shell-isolation), the state shared through the same kind of server answering only
#    `gitlab-ci-token:<CI_JOB_TOKEN>`; checked the same way.
set -uo pipefail
WORK="$1"; BIN="$2"
HERE="$(cd -- "$(dirname -- "$0")" && pwd)"
ROOT="$(cd -- "$HERE/../.." && pwd)"
PY="${PY:-python3}"
failed=0
ok() { echo "ok   $*"; }
ko() { failed=$((failed + 1)); echo "FAIL $*"; }
standin_pid=""
trap 'if [ -n "$standin_pid" ]; then kill "$standin_pid" 2>/dev/null; fi' EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# standin CRED [READ_CRED]: a git server over $sw/root answering only CRED (user:token), and
# READ_CRED for fetches only, on $port.
standin() {
  port="$(free_port)"
  "$PY" "$HERE/git_standin.py" "$port" "$sw/root" "$1" "$sw/requests.jsonl" ${2:+"$2"} 2>"$sw/standin.err" &
  standin_pid=$!
  for _ in $(seq 50); do
    curl -fs -o /dev/null "http://127.0.0.1:$port/_ready" && return 0
    sleep 0.1
  done
  echo "the git stand-in did not start: $(cat "$sw/standin.err")"; return 1
}
stop_standin() { kill "$standin_pid" 2>/dev/null; wait "$standin_pid" 2>/dev/null; standin_pid=""; }
# fixture DIR: the gate fixture (forge: local, policy go) with the actions, pushed to a bare
# origin under $sw/root as acme/shop.git, and DIR a clone of it.
fixture() {
  "$HERE/fixture/make-gate-repo.sh" "$sw/src" >/dev/null &&
    cp -r "$ROOT/gate" "$ROOT/scripts" "$sw/src/" && mkdir -p "$sw/src/templates" &&
    cp "$ROOT"/templates/*.yml "$sw/src/templates/" &&
    git -C "$sw/src" add -A && git -C "$sw/src" commit -qm "ci: actions under test" &&
    git init -q --bare -b main "$sw/root/acme/shop.git" &&
    git -C "$sw/src" push -q "$sw/root/acme/shop.git" main &&
    git clone -q "$sw/root/acme/shop.git" "$1"
}
# origin_records: the gate.evaluate commits on relman/state in the stand-in's repository.
origin_records() {
  git -C "$sw/root/acme/shop.git" log --format=%s relman/state 2>/dev/null | grep -c '^audit: gate.evaluate \[skip ci\]$'
}
relay() { # FILE: the checker's lines, counted here
  while IFS= read -r line; do
    case "$line" in "ok   "*) ok "${line#ok   }";; "FAIL "*) ko "${line#FAIL }";; *) echo "     | $line";; esac
  done <"$1"
}

# 1. act ------------------------------------------------------------------------------------
sw="$WORK/state-act"; rm -rf "$sw"; mkdir -p "$sw/root/acme" "$sw/out"
token="e2e-state-$RANDOM$RANDOM"; fork_token="e2e-fork-$RANDOM$RANDOM"
if fixture "$sw/checkout" && standin "x-access-token:$token" "x-access-token:$fork_token"; then
  git -C "$sw/checkout" remote set-url origin "http://127.0.0.1:$port/acme/shop.git"
  act_rc=0
  act push --json -P ubuntu-latest=-self-hosted -C "$sw/checkout" -W "$HERE/workflows/state.yml" \
    --env RELMAN_TEST_BIN="$BIN" --env E2E_OUT="$sw/out" \
    --env GITHUB_SERVER_URL="http://127.0.0.1:$port" --env GITHUB_REPOSITORY=acme/shop \
    -s GITHUB_TOKEN="$token" -s FORK_TOKEN="$fork_token" >"$sw/act.log" 2>&1 || act_rc=$?
  stop_standin
  if [ $act_rc -eq 0 ]; then ok "state act: workflow ran (write, read, fork: each needs the one before)"; else ko "state act: workflow ran (exit $act_rc, log $sw/act.log)"; fi
  n="$(origin_records)"
  if [ "$n" = 1 ]; then ok "state act: one gate.evaluate commit on relman/state at the origin"
  else ko "state act: one gate.evaluate commit on relman/state at the origin (found ${n:-none})"; fi
  "$PY" "$HERE/check_state.py" github "$sw/out" "$sw/requests.jsonl" "$token,$fork_token" "$sw/act.log" >"$sw/checks" 2>&1 \
    || grep -q '^FAIL ' "$sw/checks" || { ko "state act: the checker crashed"; sed 's/^/     | /' "$sw/checks"; }
  relay "$sw/checks"
else
  ko "state act: fixture and git stand-in"; stop_standin
fi

# 2. gitlab-ci-local ------------------------------------------------------------------------
# origin stays a GitLab URL (gitlab-ci-local derives the project from it); the state goes through
# the remote `state` on the stand-in, which CI_SERVER_URL names as the CI's own server.
sw="$WORK/state-gitlab"; rm -rf "$sw"; mkdir -p "$sw/root/acme" "$sw/out"
token="e2e-job-$RANDOM$RANDOM"
gl="$sw/checkout"
if fixture "$gl" && standin "gitlab-ci-token:$token"; then
  cp "$HERE/gitlab/state.yml" "$gl/.gitlab-ci.yml"
  printf 'state:\n  remote: state\n' >>"$gl/.relman.yml"
  git -C "$gl" add -A && git -C "$gl" -c user.name=e2e -c user.email=e2e@example.com commit -qm "ci: state pipeline"
  git -C "$gl" remote set-url origin git@gitlab.example.com:acme/shop.git
  git -C "$gl" remote add state "http://127.0.0.1:$port/acme/shop.git"
  gcl_rc=0
  (cd "$gl" && PATH="$BIN:$PATH" gitlab-ci-local --force-shell-executor --shell-isolation \
    --variable CI_SERVER_URL="http://127.0.0.1:$port" --variable CI_JOB_TOKEN="$token" \
    --variable GITLAB_CI=true --variable E2E_OUT="$sw/out" \
    --ignore-predefined-vars CI_SERVER_URL,GITLAB_CI) >"$sw/gcl.log" 2>&1 || gcl_rc=$?
  stop_standin
  cat "$gl"/.gitlab-ci-local/output/*.log >>"$sw/gcl.log" 2>/dev/null
  if [ $gcl_rc -eq 0 ]; then ok "state gitlab-ci-local: pipeline passed (two stages)"
  else ko "state gitlab-ci-local: pipeline passed (exit $gcl_rc, log $sw/gcl.log)"; tail -30 "$sw/gcl.log"; fi
  n="$(origin_records)"
  if [ "$n" = 1 ]; then ok "state gitlab-ci-local: one gate.evaluate commit on relman/state at the remote"
  else ko "state gitlab-ci-local: one gate.evaluate commit on relman/state at the remote (found ${n:-none})"; fi
  "$PY" "$HERE/check_state.py" gitlab "$sw/out" "$sw/requests.jsonl" "$token" "$sw/gcl.log" >"$sw/checks" 2>&1 \
    || grep -q '^FAIL ' "$sw/checks" || { ko "state gitlab-ci-local: the checker crashed"; sed 's/^/     | /' "$sw/checks"; }
  relay "$sw/checks"
else
  ko "state gitlab-ci-local: fixture and git stand-in"; stop_standin
fi

[ "$failed" -eq 0 ]
