#!/usr/bin/env bash
# Benchmark `relman changelog` against the `git log` floor and git-cliff.
#
# Usage:
#   bench/run.sh [--sizes "100000 1000000"] [--relman PATH]
#                [--skip-cliff-above N] [--runs N] [--slow-above SECONDS]
#                [--timeout SECONDS] [--seed N] [--fast-import-pack]
#
# For every size it generates (once, cached) a synthetic repository with
# bench/gen-history.py into bench/work/repo-SIZE (bench/work is git-ignored;
# a repo is regenerated when missing or when the generator or seed changed;
# it is repacked with `git repack -adf` like a clone from a forge would be, unless
# --fast-import-pack keeps fast-import's pack: deltas in the wrong direction for a
# newest-first walk, the worst case),
# writes an untracked .relman.yml with an `api` package into it, and measures
# side by side:
#   floor       git log --format=%H%x00%an%x00%at%x00%s%x00%b   (full history)
#   full        relman changelog --all      vs  git-cliff (full, only for
#               sizes <= --skip-cliff-above, default 100000: it is quadratic)
#   unreleased  relman changelog            vs  git-cliff --unreleased
#               (git-cliff under `timeout`, default 600 s)
#   package     relman changelog --all --package api  vs  relman changelog --all
# Times come from hyperfine (--warmup 1 --runs 5, JSON in bench/work/results-*/);
# max RSS from one `/usr/bin/time -f "%e %M"` run of each command. A command whose
# /usr/bin/time run takes more than --slow-above seconds (default 30), and
# git-cliff full always, is reported from that single run only.
#
# RELMAN defaults to target/release/relman, built with `cargo build --release`
# when missing. git-cliff 2.14 is installed into the venv bench/work/venv. It
# runs with the config written by `git-cliff --init` (bench/work/cliff.toml;
# without any config it prints a warning and uses the same built-in default)
# plus `--tag-pattern '^v[0-9]'`, so that, like relman, it takes only the `v`
# tags as releases and not the api-v ones.
# hyperfine and GNU time are installed with apt-get when missing.
#
# Prints the machine, then a markdown table; raw results in bench/work/results-*/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
WORK=$BENCH/work
SIZES="100000 1000000"
RELMAN=""
SKIP_CLIFF_ABOVE=100000
RUNS=5
SLOW_ABOVE=30
TIMEOUT=600
SEED=42
REPACK=--repack

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --relman) RELMAN=$2; shift 2 ;;
    --skip-cliff-above) SKIP_CLIFF_ABOVE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --slow-above) SLOW_ABOVE=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --fast-import-pack) REPACK=""; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done

mkdir -p "$WORK"
log() { printf '%s\n' "$*" >&2; }

# ---- tools ---------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || { log "need $*; no apt-get"; return 1; }
  if [ $APT_UPDATED = 0 ]; then apt-get update -qq >/dev/null || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
[ -x /usr/bin/time ] || apt_install time
command -v hyperfine >/dev/null || apt_install hyperfine || true
HAVE_HYPERFINE=0; command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

if [ -z "$RELMAN" ]; then
  RELMAN=$ROOT/target/release/relman
  if [ ! -x "$RELMAN" ]; then
    log "building relman: cargo build --release"
    (cd "$ROOT" && cargo build --release) >&2
  fi
fi
[ -x "$RELMAN" ] || { log "relman binary not found: $RELMAN"; exit 1; }
RELMAN=$(cd "$(dirname "$RELMAN")" && pwd)/$(basename "$RELMAN")

VENV=$WORK/venv
CLIFF=$VENV/bin/git-cliff
if [ ! -x "$CLIFF" ] || ! "$CLIFF" --version 2>/dev/null | grep -q ' 2\.14\.'; then
  log "installing git-cliff 2.14 into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'git-cliff==2.14.*' >&2
fi
CLIFF_TOML=$WORK/cliff.toml
if [ ! -s "$CLIFF_TOML" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && "$CLIFF" --init >/dev/null 2>&1)
  mv "$tmp/cliff.toml" "$CLIFF_TOML"; rm -rf "$tmp"
fi

# ---- machine -------------------------------------------------------------
echo "## Machine"
echo
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "- $(git --version)"
echo "- $("$CLIFF" --version 2>&1 | head -1)"
echo "- relman: $("$RELMAN" --version 2>&1 | head -1 || true) ($RELMAN)"
if [ $HAVE_HYPERFINE = 1 ]; then echo "- $(hyperfine --version)"; else echo "- hyperfine: not available, /usr/bin/time loop"; fi
echo

# ---- repos ---------------------------------------------------------------
GEN_ID="seed=$SEED$REPACK $(sha256sum "$BENCH/gen-history.py" | cut -c1-16)"
RELMAN_YML='packages:
  - name: api
    paths: [services/api]
    tag_prefix: api-v
'
prepare_repo() {  # size -> prints repo dir
  local n=$1 dir=$WORK/repo-$1 stamp=$WORK/repo-$1.stamp
  if [ ! -d "$dir/.git" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$GEN_ID" ]; then
    log "generating $n commits into $dir"
    rm -f "$stamp"
    python3 "$BENCH/gen-history.py" --commits "$n" --out "$dir" --seed "$SEED" --force $REPACK >&2
    echo "$GEN_ID" > "$stamp"
  fi
  printf '%s' "$RELMAN_YML" > "$dir/.relman.yml"
  grep -qx '/.relman.yml' "$dir/.git/info/exclude" 2>/dev/null \
    || echo '/.relman.yml' >> "$dir/.git/info/exclude"
  echo "$dir"
}

# ---- measuring -----------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$WORK/results-$STAMP
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'group\tlabel\tsize\tmean\tstddev\trss_mb\truns\tstatus\tcommand\n' > "$RESULTS"

# measure GROUP LABEL SIZE DIR SINGLE(0/1) COMMAND
measure() {
  local group=$1 label=$2 size=$3 dir=$4 single=$5 cmd=$6
  local slug; slug=$(printf '%s' "$size-$label" | tr -c 'A-Za-z0-9.-' '_')
  local tf=$OUT/$slug.time
  log "[$size] $label: $cmd"
  # One run under /usr/bin/time: max RSS, exit status, and the time of slow commands.
  local rc=0
  (cd "$dir" && /usr/bin/time -o "$tf" -f '%e %M' bash -c "$cmd" 2>"$OUT/$slug.stderr") || rc=$?
  local secs rss
  read -r secs rss < <(tail -n1 "$tf")
  local rss_mb; rss_mb=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k/1024}')
  if [ $rc -ne 0 ]; then
    local status="exit $rc"; [ $rc -eq 124 ] && status="timeout ${TIMEOUT}s"
    log "  -> FAILED ($status) after ${secs}s; stderr: $(tail -n3 "$OUT/$slug.stderr" | tr '\n' ' ')"
    printf '%s\t%s\t%s\t%s\t\t%s\t1\t%s\t%s\n' "$group" "$label" "$size" "$secs" "$rss_mb" "$status" "$cmd" >> "$RESULTS"
    return 0
  fi
  local slow; slow=$(awk -v s="$secs" -v t="$SLOW_ABOVE" 'BEGIN {print (s > t) ? 1 : 0}')
  if [ "$single" = 1 ] || [ "$slow" = 1 ]; then
    log "  -> ${secs}s (single run), ${rss_mb} MB"
    printf '%s\t%s\t%s\t%s\t\t%s\t1\tok\t%s\n' "$group" "$label" "$size" "$secs" "$rss_mb" "$cmd" >> "$RESULTS"
    return 0
  fi
  local mean sd
  if [ $HAVE_HYPERFINE = 1 ]; then
    if ! (cd "$dir" && hyperfine --style basic --warmup 1 --runs "$RUNS" \
        --export-json "$OUT/$slug.json" --command-name "$label" "$cmd" >&2); then
      log "  -> hyperfine FAILED"
      printf '%s\t%s\t%s\t\t\t%s\t0\thyperfine failed\t%s\n' "$group" "$label" "$size" "$rss_mb" "$cmd" >> "$RESULTS"
      return 0
    fi
    read -r mean sd < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["stddev"] or 0)' "$OUT/$slug.json")
  else
    local i times=""
    for ((i = 0; i < RUNS; i++)); do
      (cd "$dir" && /usr/bin/time -o "$tf" -f '%e' bash -c "$cmd" 2>/dev/null)
      times="$times $(tail -n1 "$tf")"
    done
    read -r mean sd < <(python3 -c 'import statistics as s,sys; v=[float(x) for x in sys.argv[1:]]; print(s.mean(v), s.stdev(v) if len(v)>1 else 0)' $times)
  fi
  log "  -> mean ${mean}s ± ${sd}, ${rss_mb} MB"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tok\t%s\n' "$group" "$label" "$size" "$mean" "$sd" "$rss_mb" "$RUNS" "$cmd" >> "$RESULTS"
}

q() { printf '%q' "$1"; }
R=$(q "$RELMAN"); C=$(q "$CLIFF"); CT=$(q "$CLIFF_TOML")
CLIFF_ARGS="--config $CT --tag-pattern '^v[0-9]'"

echo "## Repositories"
echo
for n in $SIZES; do
  dir=$(prepare_repo "$n")
  ntags=$(git -C "$dir" tag -l 'v*' | wc -l)
  napi=$(git -C "$dir" tag -l 'api-v*' | wc -l)
  last=$(git -C "$dir" describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo none)
  unrel=$(git -C "$dir" rev-list --count "${last}..HEAD" 2>/dev/null || git -C "$dir" rev-list --count HEAD)
  echo "- $n commits: $ntags v tags, $napi api-v tags, $unrel unreleased after $last, .git $(du -sm "$dir/.git" | cut -f1) MB"
done
echo

for n in $SIZES; do
  dir=$WORK/repo-$n
  measure floor  "git log (floor)"                  "$n" "$dir" 0 'git log --format=%H%x00%an%x00%at%x00%s%x00%b > /dev/null'
  measure full   "relman changelog --all"           "$n" "$dir" 0 "$R changelog --all > /dev/null"
  if [ "$n" -le "$SKIP_CLIFF_ABOVE" ]; then
    measure full "git-cliff"                        "$n" "$dir" 1 "timeout $TIMEOUT $C $CLIFF_ARGS > /dev/null"
  else
    printf 'full\tgit-cliff\t%s\t\t\t\t0\tskipped (> %s commits)\t\n' "$n" "$SKIP_CLIFF_ABOVE" >> "$RESULTS"
  fi
  measure unreleased "relman changelog"             "$n" "$dir" 0 "$R changelog > /dev/null"
  measure unreleased "git-cliff --unreleased"       "$n" "$dir" 0 "timeout $TIMEOUT $C $CLIFF_ARGS --unreleased > /dev/null"
  measure package "relman changelog --all --package api" "$n" "$dir" 0 "$R changelog --all --package api > /dev/null"
done

# ---- report --------------------------------------------------------------
echo "## Results"
echo
python3 - "$RESULTS" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def mean(group, label, size):
    for r in rows:
        if r["group"] == group and r["label"] == label and r["size"] == size \
                and r["status"] == "ok" and r["mean"]:
            return float(r["mean"])
    return None
BASE = {  # group -> (group, label) of the baseline, and its name
    "floor": (("floor", "git log (floor)"), "floor"),
    "full": (("floor", "git log (floor)"), "floor"),
    "unreleased": (("unreleased", "git-cliff --unreleased"), "git-cliff"),
    "package": (("full", "relman changelog --all"), "relman --all"),
}
print("ratio = mean / mean of the baseline at the same size: the git log floor for")
print("full runs, git-cliff --unreleased for unreleased runs, relman --all for --package.")
print()
print("| command | size | mean s | ± s | max RSS MB | ratio |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for r in rows:
    (bg, bl), bname = BASE[r["group"]]
    if r["status"] != "ok":
        print(f"| {r['label']} | {r['size']} | {r['mean'] or '-'} | - | {r['rss_mb'] or '-'} | {r['status']} |")
        continue
    m = float(r["mean"])
    sd = f"{float(r['stddev']):.3f}" if r["stddev"] else "single run"
    b = mean(bg, bl, r["size"])
    ratio = f"{m / b:.2f}× {bname}" if b else "-"
    print(f"| {r['label']} | {r['size']} | {m:.3f} | {sd} | {r['rss_mb']} | {ratio} |")
EOF
echo
echo "Commands run in each repo (RELMAN=$RELMAN):"
echo
cut -f2,9 "$RESULTS" | tail -n +2 | awk -F'\t' '$2 != "" && !seen[$0]++ {print "- " $1 ": `" $2 "`"}'
echo
echo "Raw results: $OUT (results.tsv, hyperfine JSON, /usr/bin/time output, stderr)"
