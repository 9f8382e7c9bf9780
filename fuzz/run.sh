#!/usr/bin/env bash
# Runs relman's fuzz targets for a fixed time each and records executions and time per target.
#
#   fuzz/run.sh TARGET|all SECONDS [PARALLEL]
#
# Not part of the default CI run. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a
# C++ compiler (libfuzzer-sys builds libFuzzer). The stable toolchain is enough:
# RUSTC_BOOTSTRAP=1 lets it take the one unstable flag cargo-fuzz passes. Targets are built
# without a sanitizer (`-s none`): relman forbids unsafe code, so the fuzzer looks for panics,
# overflows (debug assertions are on), hangs and memory blow-ups.
#
# Each target starts from the committed corpus (fuzz/corpus/TARGET, minimized by
# fuzz/minimize.sh from earlier runs) and the committed seeds (fuzz/seeds/TARGET, taken from the
# test fixtures); what it finds grows fuzz/scratch/TARGET (not committed: fuzz/minimize.sh folds
# it into the committed corpus). Crashes, hangs (-timeout)
# and out-of-memory inputs (-rss_limit_mb) land in fuzz/artifacts/TARGET; each one found must
# become a regression test in the crate that owns the parser. Results are appended to
# fuzz/logs/summary.tsv: target, seconds, executions, executions/s, peak RSS, outcome.
set -euo pipefail
cd "$(dirname "$0")"

ALL=(conventional config template junit sarif coverage benchmark codeowners cron forge_github forge_gitlab)
target=${1:?usage: fuzz/run.sh TARGET|all SECONDS [PARALLEL]}
seconds=${2:?usage: fuzz/run.sh TARGET|all SECONDS [PARALLEL]}
parallel=${3:-1}
if [[ $target == all ]]; then targets=("${ALL[@]}"); else targets=("$target"); fi
# libFuzzer exits at once, with no execution, on a seed directory that does not exist: say so
# before building rather than record a 0-execution "run".
for t in "${targets[@]}"; do
  if [[ -z $(ls -A "seeds/$t" 2>/dev/null) ]]; then
    echo "fuzz/run.sh: fuzz/seeds/$t is missing or empty: commit seeds from the test fixtures" >&2
    exit 2
  fi
done

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [[ $target == all ]]; then nice -n 19 cargo fuzz build -s none; else nice -n 19 cargo fuzz build -s none "$target"; fi
mkdir -p logs

run_one() {
  local t=$1 seconds=$2 log="logs/$1.log" started ended rc outcome
  mkdir -p "scratch/$t" "artifacts/$t"
  # libFuzzer writes new inputs to the first directory only: the committed ones stay as they are.
  local dirs=("scratch/$t")
  if [[ -n $(ls -A "corpus/$t" 2>/dev/null) ]]; then dirs+=("corpus/$t"); fi
  dirs+=("seeds/$t")
  started=$(date +%s)
  set +e
  nice -n 19 cargo fuzz run -s none "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  ended=$(date +%s)
  local execs rss
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [[ $rc == 0 ]]; then outcome=ok; else
    outcome="FOUND($(grep -o 'ERROR: libFuzzer: [a-z-]*\|panicked at [^ ]*' "$log" | head -1 | tr ' \t' '__'))"
  fi
  local secs=$((ended - started))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-0}" \
    "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "${rss:-?}" "$outcome" "$(date -u +%FT%TZ)" \
    | tee -a logs/summary.tsv
}
export -f run_one

printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'run_one "$@"' _ {} "$seconds"
