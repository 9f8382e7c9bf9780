#!/usr/bin/env bash
# A whole gate run in a fresh complete clone of main (a gate job checks out with
# `fetch-depth: 0`), against an origin whose state ref is empty vs one holding a year of gate
# runs (100 a day, one commit each: 36,500 records, bench/gen-state-records.py), for two relman
# builds side by side in one hyperfine run: what the year costs each job, before and after a
# change to the state store (docs/state.md, "relman's own repository").
# Usage: nice -n 10 bash bench/state-year-gate.sh NEW_RELMAN OLD_RELMAN
#   e.g. an older build: git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
# Work in bench/work/state-year/; needs git, hyperfine, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
new=$(realpath "$1"); old=$(realpath "$2")
root=$PWD
work=$root/bench/work/state-year
rm -rf "$work" && mkdir -p "$work"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 RELMAN_CI=terminal
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
tests/ci-e2e/fixture/make-gate-repo.sh "$work/fixture" >/dev/null
git init -q --bare -b main "$work/year.git"
git -C "$work/fixture" push -q "$work/year.git" main
python3 bench/gen-state-records.py 36500 365 1 refs/relman/state | git -C "$work/year.git" fast-import --quiet
git -C "$work/year.git" repack -q -a -d -f   # as a forge's server keeps it: one pack
git init -q --bare -b main "$work/empty.git"
git -C "$work/fixture" push -q "$work/empty.git" main
cat >"$work/fresh.sh" <<'SH'
#!/usr/bin/env bash
# ORIGIN JOB: a fresh complete clone of main; the empty origin's state ref is dropped again
# (each gate run records its verdict there).
set -euo pipefail
case "$1" in *empty.git) git -C "$1" update-ref -d refs/relman/state 2>/dev/null || true;; esac
rm -rf "$2" && git clone -q --no-local --single-branch --branch main "file://$1" "$2"
SH
chmod +x "$work/fresh.sh"
gate="gate --policy go --no-commit-status --format json"
hyperfine -N --style none --runs 5 --export-json "$work/gate-year.json" \
  --prepare "$work/fresh.sh $work/empty.git $work/job" --command-name "empty state, old" "$old --directory $work/job $gate" \
  --prepare "$work/fresh.sh $work/year.git $work/job" --command-name "a year of state, old" "$old --directory $work/job $gate" \
  --prepare "$work/fresh.sh $work/empty.git $work/job" --command-name "empty state, new" "$new --directory $work/job $gate" \
  --prepare "$work/fresh.sh $work/year.git $work/job" --command-name "a year of state, new" "$new --directory $work/job $gate" >/dev/null
python3 - "$work/gate-year.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"  {x['command']}: mean {x['mean']*1000:.0f} ms ± {x['stddev']*1000:.0f}, min {x['min']*1000:.0f} ms ({len(x['times'])} runs)")
print(f"  the year costs a job: old {(r[1]['mean']-r[0]['mean'])*1000:.0f} ms, new {(r[3]['mean']-r[2]['mean'])*1000:.0f} ms")
print(f"  a year of state, old / new: {r[1]['mean']/r[3]['mean']:.1f}x; empty state, new / old: {r[2]['mean']/r[0]['mean']:.2f}x")
PY
echo "after the last run: the job's clone is shallow? $(git -C "$work/job" rev-parse --is-shallow-repository);" \
  "commits of the state in relman's repository: $(git --git-dir="$work/job/.git/relman/state.git" rev-list --count refs/relman-remotes/origin/relman/state 2>/dev/null || echo none)"
