#!/usr/bin/env bash
# Folds what fuzz/run.sh found (fuzz/scratch/TARGET, local) into the committed corpus
# (fuzz/corpus/TARGET), with the seeds and past findings, and minimizes it with
# `cargo fuzz cmin`: the fewest inputs that still reach every coverage feature the union
# reached. Inputs are named by their sha1, so the same input is one file however often found.
#
#   fuzz/minimize.sh TARGET|all
#
# Prints the target, the number of inputs before and after, and the committed size.
set -euo pipefail
cd "$(dirname "$0")"

ALL=(conventional config template junit sarif coverage benchmark codeowners cron forge_github forge_gitlab)
target=${1:?usage: fuzz/minimize.sh TARGET|all}
if [[ $target == all ]]; then targets=("${ALL[@]}"); else targets=("$target"); fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p logs

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  for d in "scratch/$t" "seeds/$t"; do
    if [[ -d $d ]]; then find "$d" -maxdepth 1 -type f -exec cp -n -t "corpus/$t" {} +; fi
  done
  # Past findings (each one a regression test now) stay in if they reach something new.
  find findings -maxdepth 1 -type f -name "$t-*" -exec cp -n -t "corpus/$t" {} +
  before=$(find "corpus/$t" -type f | wc -l)
  nice -n 10 cargo fuzz cmin -s none "$t" "corpus/$t" -- \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 >"logs/cmin-$t.log" 2>&1 \
    || { echo "fuzz/minimize.sh: cmin of $t failed, see fuzz/logs/cmin-$t.log" >&2; exit 1; }
  printf '%s\t%s\t%s\t%s\n' "$t" "$before" "$(find "corpus/$t" -type f | wc -l)" \
    "$(du -sk --apparent-size "corpus/$t" | cut -f1) KiB"
done
