#!/usr/bin/env bash
# The state branch (docs/state.md), each figure side by side with a peer in one run:
#   1. one audit append including its commit: relman (gitoxide objects + ref compare-and-swap)
#      vs the same append with git's plumbing (hash-object, read-tree/update-index/write-tree on a
#      private index, commit-tree, update-ref with the old value). Target: relman <= 20 ms.
#   2. `relman audit --since 30d` on a store of 100,000 records spread over 1,000 days, vs
#      `git cat-file --batch` reading the same 30 days' blobs (the floor: no parsing). Target <= 1 s.
#   3. what the state sync adds to a gate run: one append through a file:// origin (fetch + push)
#      vs the same append on a local branch; peer: a bare `git fetch` + `git push`.
#   4. clone growth: a simulated year at 100 gate runs a day (one commit per record), measured as
#      the size of a full `git clone --mirror --no-local` of the origin minus the size without it.
# Usage: bench/state.sh [APPENDS] [RECORDS] [PER_DAY] [DAYS]   (work in bench/work/state/)
set -euo pipefail
cd "$(dirname "$0")/.."
appends=${1:-200}; records=${2:-100000}; per_day=${3:-100}; days=${4:-365}
work=bench/work/state
rm -rf "$work" && mkdir -p "$work"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
cargo build --release -q -p relman-core --example state_bench
cargo build --release -q --bin relman
sb=$PWD/target/release/examples/state_bench
relman=$PWD/target/release/relman
ms() { python3 -c "import sys; print(f'{float(sys.argv[1])*1000:.2f}')" "$1"; }
now() { date +%s.%N; }

echo "## 1. one append including its commit ($appends appends)"
git init -q "$work/a"
"$sb" append "$work/a" "$appends"
git init -q "$work/g"
rec='{"actor":"dev1","action":"gate.evaluate","when":"2026-01-01T00:00:00Z","reason":"go: 7 of 7 gates passed"}'
(
  cd "$work/g"
  export GIT_INDEX_FILE=$PWD/.git/relman-index GIT_AUTHOR_NAME=relman GIT_AUTHOR_EMAIL=r@l GIT_COMMITTER_NAME=relman GIT_COMMITTER_EMAIL=r@l
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
  echo "git plumbing: appends=$appends mean_ms=$(ms "$(echo "($end - $start) / $appends" | bc -l)")"
)

echo "## 2. relman audit --since 30d over $records records"
git init -q "$work/q"
"$sb" fill "$work/q" "$records" 1000
(cd "$work/q" && "$relman" audit --since 30d --format jsonl | wc -l | sed 's/^/records listed: /')
start=$(now); for _ in 1 2 3 4 5; do (cd "$work/q" && "$relman" audit --since 30d --format jsonl >/dev/null); done; end=$(now)
echo "relman audit --since 30d: mean_ms=$(ms "$(echo "($end - $start) / 5" | bc -l)")"
since=$(date -u -d '30 days ago' +%Y/%m/%d)
git -C "$work/q" ls-tree -r relman/state audit/ | awk -v s="audit/$since" '$4 >= s {print $3}' >"$work/blobs"
start=$(now); for _ in 1 2 3 4 5; do git -C "$work/q" cat-file --batch <"$work/blobs" >/dev/null; done; end=$(now)
echo "peer git ls-tree + cat-file --batch ($(wc -l <"$work/blobs") blobs): mean_ms=$(ms "$(echo "($end - $start) / 5" | bc -l)") (listing not included)"

echo "## 3. the sync a gate run adds (one fetch, one push)"
git init -q --bare "$work/origin.git"
git clone -q "file://$PWD/$work/origin.git" "$work/job" 2>/dev/null
git -C "$work/job" commit -q --allow-empty -m seed && git -C "$work/job" push -q origin HEAD:main
STATE_REMOTE=origin "$sb" append "$work/job" 20 | sed 's/^/through origin: /'
"$sb" append "$work/job" 20 | sed 's/^/local branch:   /'
start=$(now); for _ in $(seq 1 20); do git -C "$work/job" fetch -q origin +refs/heads/main:refs/remotes/origin/main; git -C "$work/job" push -q origin HEAD:main; done; end=$(now)
echo "peer git fetch + push (nothing new): mean_ms=$(ms "$(echo "($end - $start) / 20" | bc -l)")"

echo "## 4. clone growth: $per_day gate runs a day for $days days"
git init -q "$work/y"
git -C "$work/y" commit -q --allow-empty -m seed
git init -q --bare "$work/y-origin.git"
git -C "$work/y" push -q "$PWD/$work/y-origin.git" HEAD:main
git clone -q --mirror --no-local "$work/y-origin.git" "$work/y-before.git"
start=$(now)
"$sb" year "$work/y" "$per_day" "$days"
end=$(now)
echo "simulated in $(printf '%.0f' "$(echo "$end - $start" | bc -l)") s"
git -C "$work/y" push -q "$PWD/$work/y-origin.git" relman/state
git clone -q --mirror --no-local "$work/y-origin.git" "$work/y-after.git"
before=$(du -sk "$work/y-before.git" | cut -f1); after=$(du -sk "$work/y-after.git" | cut -f1)
echo "full clone: before ${before} KiB, after ${after} KiB, growth $((after - before)) KiB for $((per_day * days)) records"
