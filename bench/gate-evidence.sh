#!/usr/bin/env bash
# The junit and sarif gates over a 100k-testcase JUnit report (~50 MB) and a 100k-result
# SARIF log (~60 MB), side by side with Python's streaming ElementTree (iterparse) and
# json.load over the same files. Target: relman < 1 s and < 100 MB max RSS for both together.
# Usage: bench/gate-evidence.sh [TESTS] [RESULTS]   (files go to bench/work/evidence/)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=${1:-100000}
results=${2:-100000}
work=bench/work/evidence
mkdir -p "$work"
if [ ! -f "$work/.stamp-$tests-$results" ]; then
  python3 bench/gen-evidence.py "$work" "$tests" "$results"
  touch "$work/.stamp-$tests-$results"
fi
ls -l "$work/junit.xml" "$work/sarif.json"

if [ ! -x /usr/bin/time ]; then
  apt-get install -y time > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y time > /dev/null; }
fi

cargo build --release -q -p relman-gate --example evidence_bench
relman=(target/release/examples/evidence_bench "$work/junit.xml" "$work/sarif.json")
cat > "$work/peer.py" <<'PY'
import json, sys, xml.etree.ElementTree as ET
tests = failed = 0
for _, el in ET.iterparse(sys.argv[1]):
    if el.tag == "testcase":
        tests += 1
        failed += el.find("failure") is not None or el.find("error") is not None
        el.clear()
with open(sys.argv[2], "rb") as f:
    log = json.load(f)
results = sum(len(r.get("results", [])) for r in log["runs"])
print(f"python: {tests} tests, {failed} failed; {results} results")
PY
peer=(python3 "$work/peer.py" "$work/junit.xml" "$work/sarif.json")

echo "== relman (evidence_bench): output and /usr/bin/time -v"
/usr/bin/time -v "${relman[@]}" 2> "$work/relman.time"
grep -E "Elapsed|Maximum resident" "$work/relman.time"
echo "== peer (python3 iterparse + json.load): output and /usr/bin/time -v"
/usr/bin/time -v "${peer[@]}" 2> "$work/peer.time"
grep -E "Elapsed|Maximum resident" "$work/peer.time"

rss() { awk '/Maximum resident/{print int($6 / 1024)}' "$1"; }
echo "max RSS: relman $(rss "$work/relman.time") MB, python $(rss "$work/peer.time") MB"

if command -v hyperfine > /dev/null; then
  hyperfine --warmup 1 --runs 5 --export-json "$work/hyperfine.json" \
    -n relman "${relman[*]}" \
    -n python "${peer[*]}"
  python3 - "$work/hyperfine.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"mean: relman {r['relman']*1000:.0f} ms, python {r['python']*1000:.0f} ms, "
      f"python / relman = {r['python'] / r['relman']:.1f}x")
PY
fi
