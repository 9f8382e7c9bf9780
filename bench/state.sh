#!/usr/bin/env bash
# The state branch (docs/state.md), each figure side by side with a peer in the same run, as a
# ratio (the machine is shared and noisy: absolute times move, ratios much less). Release builds.
#   1. one audit append including its commit: relman (gitoxide objects + ref compare-and-swap,
#      `state_bench append`) vs the same append with git's plumbing (hash-object,
#      read-tree/update-index/write-tree on a private index, commit-tree, update-ref with the old
#      value). Target: relman <= 20 ms.
#   2. `relman audit --since 30d` on a store of RECORDS records spread over a year (generated in
#      the branch's own layout with git fast-import, bench/gen-state-records.py) vs git + jq doing
#      the same filter (ls-tree -r, the days in range, cat-file --batch, jq on `when`).
#      hyperfine. Target: <= 1 s.
#   3. what the state sync adds to one gate run: `relman gate` on the gate e2e fixture in a clone
#      of a file:// origin (fetch + push of its record) vs the same clone with `state.remote: ""`
#      (the record on the local branch). hyperfine.
#   4. clone growth: PER_DAY gate runs a day for DAYS days, one commit per record, generated like
#      (2): the packed size of the branch, the time to fetch it into a fresh clone (what a job's
#      first state read costs), and what each way of cloning downloads with and without it
#      (actions/checkout's default fetch and its `fetch-depth: 0`, plain `git clone`,
#      `--single-branch`), also with `state.branch: refs/relman/state`; then a whole gate run in a
#      fresh clone against an origin with an empty state branch vs one holding the year, and the
#      memory of `relman audit` listing the whole store of (2).
# Usage: nice -n 10 bash bench/state.sh [APPENDS] [RECORDS] [PER_DAY] [DAYS]
# Work in bench/work/state/; needs git, jq, hyperfine (apt-get install hyperfine jq).
set -euo pipefail
cd "$(dirname "$0")/.."
appends=${1:-200}; records=${2:-100000}; per_day=${3:-100}; days=${4:-365}
root=$PWD
work=$root/bench/work/state
rm -rf "$work" && mkdir -p "$work"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 RELMAN_CI=terminal
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
for tool in git jq hyperfine python3 bc; do
  command -v "$tool" >/dev/null || { echo "bench/state.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
cargo build --release -q --locked -p relman-core --example state_bench
cargo build --release -q --locked --bin relman
sb=$root/target/release/examples/state_bench
relman=$root/target/release/relman
ms() { python3 -c "import sys; print(f'{float(sys.argv[1])*1000:.2f}')" "$1"; }
now() { date +%s.%N; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
# hyper NAME CMD1 [CMD2]: hyperfine side by side; prints each mean ± sd and CMD2/CMD1.
hyper() {
  local name=$1; shift
  hyperfine -N --style none --warmup 2 --runs "${RUNS:-10}" --export-json "$work/$name.json" "$@" >/dev/null
  python3 - "$work/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"  {x['command']}\n    mean {x['mean']*1000:.1f} ms ± {x['stddev']*1000:.1f}, median {x['median']*1000:.1f} ms, min {x['min']*1000:.1f} ms ({len(x['times'])} runs)")
if len(r) == 2:
    print(f"  ratio (second / first): {r[1]['mean'] / r[0]['mean']:.2f}; difference of means {(r[1]['mean'] - r[0]['mean'])*1000:.1f} ms")
PY
}
echo "# bench/state.sh at $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), nice $(nice)"

echo "## 1. one append including its commit ($appends appends each)"
git init -q "$work/a"
line=$("$sb" append "$work/a" "$appends")
echo "relman (state_bench append): $line"
relman_mean=$(sed -n 's/.*mean_ms=\([0-9.]*\).*/\1/p' <<<"$line")
git init -q "$work/g"
rec='{"actor":"dev1","action":"gate.evaluate","when":"2026-01-01T00:00:00Z","reason":"go: 7 of 7 gates passed"}'
git_mean=$(
  cd "$work/g"
  export GIT_INDEX_FILE=$PWD/.git/relman-index
  start=$(now)
  for i in $(seq 1 "$appends"); do
    tip=$(git rev-parse -q --verify refs/heads/relman/state || true)
    blob=$(printf '%s' "$rec" | git hash-object -w --stdin)
    if [ -n "$tip" ]; then git read-tree "$tip"; else git read-tree --empty; fi
    git update-index --add --cacheinfo "100644,$blob,audit/2026/01/01/000000.$i-gate.evaluate.json"
    tree=$(git write-tree)
    if [ -n "$tip" ]; then commit=$(git commit-tree "$tree" -p "$tip" -m "audit: gate.evaluate [skip ci]")
      git update-ref refs/heads/relman/state "$commit" "$tip"
    else commit=$(git commit-tree "$tree" -m "audit: gate.evaluate [skip ci]")
      git update-ref refs/heads/relman/state "$commit" 0000000000000000000000000000000000000000; fi
  done
  end=$(now)
  ms "$(echo "($end - $start) / $appends" | bc -l)"
)
echo "peer git plumbing: appends=$appends mean_ms=$git_mean"
echo "ratio peer / relman (mean): $(ratio "$git_mean" "$relman_mean")"

echo "## 2. relman audit --since 30d over $records records spread over 365 days"
git init -q "$work/q"
start=$(now)
python3 bench/gen-state-records.py "$records" 365 1000 | git -C "$work/q" fast-import --quiet
echo "generated with git fast-import in $(printf '%.1f' "$(echo "$(now) - $start" | bc -l)") s: $(git -C "$work/q" ls-tree -r --name-only relman/state | wc -l) files"
since_ts=$(date -u -d '30 days ago' +%FT%TZ); since_day=audit/$(date -u -d '30 days ago' +%Y/%m/%d)
cat >"$work/peer-query.sh" <<SH
#!/usr/bin/env bash
# git + jq doing what relman audit --since does: list the records, keep the days in range, read
# them, keep those whose when is in range, print one JSON line each.
set -euo pipefail
git -C "$work/q" ls-tree -r relman/state audit/ | awk -v s="$since_day" '\$4 >= s {print \$3}' \\
  | git -C "$work/q" cat-file --batch='' | jq -c --arg s "$since_ts" 'select(.when >= \$s)'
SH
chmod +x "$work/peer-query.sh"
echo "listed: relman $(cd "$work/q" && "$relman" audit --since "$since_ts" --format jsonl | wc -l), peer $("$work/peer-query.sh" | wc -l)"
(cd "$work/q" && hyper query "$relman audit --since 30d --format jsonl" "$work/peer-query.sh")

echo "## 3. the sync a gate run adds (one fetch, one push of its record)"
tests/ci-e2e/fixture/make-gate-repo.sh "$work/fixture" >/dev/null
git init -q --bare -b main "$work/origin.git"
git -C "$work/fixture" push -q "$work/origin.git" main
git clone -q "file://$work/origin.git" "$work/synced"
git clone -q "file://$work/origin.git" "$work/local"
printf 'state:\n  remote: ""\n' >>"$work/local/.relman.yml"
gate="gate --policy go --no-commit-status --format json"
RUNS=20 hyper gate "$relman --directory $work/local $gate" "$relman --directory $work/synced $gate"
echo "records: origin $(git -C "$work/origin.git" rev-list --count relman/state), local branch $(git -C "$work/local" rev-list --count relman/state)"
cat >"$work/peer-sync.sh" <<SH
#!/usr/bin/env bash
# the floor: git fetch of the branch and a push of nothing new, through the same origin.
set -euo pipefail
git -C "$work/synced" fetch -q --no-tags origin +refs/relman/state:refs/relman-remotes/origin/relman/state
git -C "$work/synced" push -q origin refs/relman-remotes/origin/relman/state:refs/relman/state
SH
chmod +x "$work/peer-sync.sh"
RUNS=20 hyper sync "$work/peer-sync.sh"

echo "## 4. clone growth: $per_day gate runs a day for $days days, one commit each"
total=$((per_day * days))
year() { # DIR REF: a bare origin holding the fixture's main and a year of records at REF
  git init -q --bare -b main "$1"
  git -C "$work/fixture" push -q "$1" main
  start=$(now)
  python3 bench/gen-state-records.py "$total" "$days" 1 "$2" | git -C "$1" fast-import --quiet
  git -C "$1" repack -q -a -d -f   # as a forge's server keeps it: one pack, deltas recomputed
  echo "  $2: $total records in $(git -C "$1" rev-list --count "$2") commits, generated in $(printf '%.0f' "$(echo "$(now) - $start" | bc -l)") s"
}
year "$work/y.git" refs/heads/relman/state
git init -q --bare -b main "$work/none.git" && git -C "$work/fixture" push -q "$work/none.git" main
year "$work/y-refs.git" refs/relman/state
pack=$(git -C "$work/y.git" pack-objects --revs --stdout -q <<<"refs/heads/relman/state" | wc -c)
main_pack=$(git -C "$work/y.git" pack-objects --revs --stdout -q <<<"refs/heads/main" | wc -c)
echo "packed: relman/state $((pack / 1024)) KiB ($((pack / total)) bytes a record), main $((main_pack / 1024)) KiB"
git -C "$work/y.git" rev-list --objects refs/heads/relman/state | cut -d' ' -f1 \
  | git -C "$work/y.git" cat-file --batch-check='%(objecttype) %(objectsize:disk)' \
  | awk '{n[$1]++; d[$1] += $2} END {for (t in n) printf "  %s: %d objects, %d KiB packed\n", t, n[t], d[t] / 1024}'
# Every job's first state read fetches the state ref (the default, refs/relman/state, as relman
# fetches it): what that costs in a fresh clone of main,
# with git alone: the tip alone (`--depth=1`, what relman's own repository fetches in any
# clone, docs/state.md "relman's own repository") vs the whole history (what relman fetched
# into a complete clone before it had a repository of its own).
cat >"$work/fresh-job.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
rm -rf "$work/job"
git clone -q \$1 --single-branch --branch main "file://$work/y-refs.git" "$work/job"
SH
chmod +x "$work/fresh-job.sh"
hyperfine -N --style none --warmup 1 --runs 5 --export-json "$work/fetch.json" \
  --prepare "$work/fresh-job.sh --depth=1" --command-name "depth-1 checkout (CI)" \
  "git -C $work/job fetch -q --no-tags --depth=1 origin +refs/relman/state:refs/relman-remotes/origin/relman/state" \
  --prepare "$work/fresh-job.sh --no-local" --command-name "complete clone" \
  "git -C $work/job fetch -q --no-tags origin +refs/relman/state:refs/relman-remotes/origin/relman/state" >/dev/null
python3 - "$work/fetch.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"first fetch of relman/state in a fresh {r['command']} of main (file://): mean {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f}, min {r['min']*1000:.0f} ms, {len(r['times'])} runs")
PY
# What each way of cloning downloads: objects after the clone, with and without the state.
clone_kib() { # ORIGIN MODE
  local d="$work/c-$RANDOM"; mkdir -p "$d"
  case "$2" in
    checkout-default) git -C "$d" init -q && git -C "$d" remote add origin "file://$1" &&
      git -C "$d" fetch -q --no-tags --depth=1 origin "+refs/heads/main:refs/remotes/origin/main";;
    checkout-depth0) git -C "$d" init -q && git -C "$d" remote add origin "file://$1" &&
      git -C "$d" fetch -q --prune origin "+refs/heads/*:refs/remotes/origin/*" "+refs/tags/*:refs/tags/*";;
    clone) git clone -q --bare "file://$1" "$d/r";;
    single) git clone -q --bare --single-branch --branch main "file://$1" "$d/r";;
  esac
  # bytes of git objects received (loose or packed), not disk blocks
  find "$d" -path '*/objects/*' -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s / 1024}'
  rm -rf "$d"
}
echo "objects kept after the fetch (KiB, packs and their indexes): main only | + refs/heads/relman/state | + refs/relman/state"
for mode in checkout-default checkout-depth0 clone single; do
  printf '  %-18s %10s %10s %10s\n' "$mode" "$(clone_kib "$work/none.git" $mode)" \
    "$(clone_kib "$work/y.git" $mode)" "$(clone_kib "$work/y-refs.git" $mode)"
done
# A gate run in a fresh complete clone of main (the gate reads history back to the previous
# release tag, so its job checks out with fetch-depth: 0; a depth-1 clone is refused, exit 2)
# against an origin whose state ref is empty vs one holding the year: the first fetch of the
# whole state history is what the year adds.
cat >"$work/fresh-gate.sh" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
rm -rf "$2" && git clone -q --no-local --single-branch --branch main "file://$1" "$2"
SH
chmod +x "$work/fresh-gate.sh"
echo "gate run in a fresh complete clone of main: origin with an empty state ref vs one holding the year"
hyperfine -N --style none --runs 5 --export-json "$work/gate-year.json" \
  --prepare "$work/fresh-gate.sh $work/none.git $work/gatejob" --prepare "$work/fresh-gate.sh $work/y-refs.git $work/gatejob" \
  --command-name "empty state" "$relman --directory $work/gatejob $gate" \
  --command-name "a year of state" "$relman --directory $work/gatejob $gate" >/dev/null
python3 - "$work/gate-year.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"  {x['command']}: mean {x['mean']*1000:.0f} ms ± {x['stddev']*1000:.0f}, min {x['min']*1000:.0f} ms ({len(x['times'])} runs)")
print(f"  ratio (year / empty): {r[1]['mean'] / r[0]['mean']:.1f}")
PY
if command -v /usr/bin/time >/dev/null; then
  echo "memory of relman audit over the whole store of $records records (no --since):"
  (cd "$work/q" && /usr/bin/time -f "  %e s, max RSS %M KiB" "$relman" audit --format jsonl 2>&1 >/dev/null | tail -1)
fi
