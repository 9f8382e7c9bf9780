#!/usr/bin/env python3
# Shows that an issue #12 finding's test fails without its fix (RELIABILITY.md): for each entry
# of the JSON list (default scripts/unfix-findings.json), takes the fix out of its file (one
# exact text replaced), runs that test alone, puts the file back (also on error or Ctrl-C),
# and prints the outcome. Edits the working tree while it runs: use a clean checkout.
# Usage: python3 scripts/unfix.py [LIST.json]
import json, os, subprocess, sys
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
muts = json.load(open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'scripts/unfix-findings.json')))
held = True
for m in muts:
    p = os.path.join(root, m['file'])
    src = open(p).read()
    # One exact text to replace, or several (`more`: [[old, new], …]) when a fix has two layers.
    unfixed = src
    for old, new in [[m['old'], m['new']]] + m.get('more', []):
        assert unfixed.count(old) == 1, (m['name'], old, unfixed.count(old))
        unfixed = unfixed.replace(old, new)
    open(p, 'w').write(unfixed)
    try:
        cmd = f"ulimit -v 6000000; timeout {m.get('timeout', 900)} nice cargo test --workspace --locked -p {m['crate']} --lib -- {m['test']}"
        r = subprocess.run(['bash', '-c', cmd], cwd=root, capture_output=True, text=True)
        text = r.stdout + r.stderr
        res = [l for l in text.splitlines() if l.startswith('test result') and ('1 passed' in l or '1 failed' in l)]
        panic = [l for l in text.splitlines() if 'panicked' in l or 'error[' in l][:2]
        if any('error[' in l for l in panic):
            verdict = 'DOES NOT COMPILE with the fix taken out (fix the list)'
        elif r.returncode != 0:
            verdict = 'fails without the fix'
        else:
            verdict = 'PASSES without the fix'
        held = held and verdict == 'fails without the fix'
        line = f"{m['name']}: {verdict} (rc {r.returncode}; {res[:1]}; {panic})"
    finally:
        open(p, 'w').write(src)
    print(line, flush=True)
sys.exit(0 if held else 1)
