"""A `git fast-import` stream of gate records on the state branch, laid out as relman writes them
(crates/relman-core/src/state/audit.rs: `audit/yyyy/mm/dd/hhmmss.nnnnnnnnn-gate.evaluate-xxxxxxxx.json`,
one pretty-printed JSON file per record, commits `audit: gate.evaluate [skip ci]` by relman), so
that benchmarks get a store of any size in seconds instead of one relman append per record.

Usage: gen-state-records.py RECORDS DAYS PER_COMMIT [REF] | git fast-import --quiet
  RECORDS     records, spread evenly over the DAYS days before now (the newest about now)
  PER_COMMIT  records per commit: 1 is one commit per gate run (clone growth), larger is faster
  REF         default refs/relman/state (relman's default; refs/heads/relman/state for a branch)

The record is the gate's compact verdict (crates/relman-gate/src/cli.rs `audit`): actor, action,
when, reason, subject (sha, environment), details (verdict, policy, base, risk, each gate's
status), run URL. Deterministic: the same arguments give the same records, but for `now`.
"""
import json
import random
import sys
import time

records, days, per_commit = (int(a) for a in sys.argv[1:4])
ref = sys.argv[4] if len(sys.argv) > 4 else "refs/relman/state"
rng = random.Random(9)
now = int(time.time())
span = days * 86_400
out = sys.stdout.buffer
GATES = ["risk", "checks", "approvals", "junit", "coverage", "window", "rollback"]


def record(i, when):
    failed = i % 17 == 0
    sha = "%040x" % rng.getrandbits(160)
    return {
        "actor": f"dev{i % 40}",
        "action": "gate.evaluate",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "reason": "no-go: 1 blocking gate failed (checks)" if failed else "go: 7 of 7 gates passed",
        "subject": {"sha": sha, "environment": "production" if i % 3 == 0 else "staging"},
        "details": {
            "verdict": "no-go" if failed else "go",
            "policy": "production",
            "base": "%040x" % rng.getrandbits(160),
            "risk": "low",
            "gates": [{"name": g, "status": "fail" if failed and g == "checks" else "pass"} for g in GATES],
        },
        "run": f"https://github.com/acme/shop/actions/runs/{9_000_000_000 + i}",
    }


def data(payload):
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


i = 0
first = True
while i < records:
    files = []
    for _ in range(min(per_commit, records - i)):
        when = now - span + (i + 1) * span // records
        t = time.gmtime(when)
        path = "audit/%04d/%02d/%02d/%02d%02d%02d.%09d-gate.evaluate-%08x.json" % (
            t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
            rng.randrange(10**9), rng.getrandbits(32))
        body = (json.dumps(record(i, when), indent=2) + "\n").encode()
        files.append((path, body))
        i += 1
    out.write(b"commit %s\n" % ref.encode())
    out.write(b"committer relman <relman@localhost> %d +0000\n" % (now - span + i * span // records))
    data(b"audit: gate.evaluate [skip ci]\n")
    if first:
        out.write(b"deleteall\n")
        first = False
    for path, body in files:
        out.write(b"M 100644 inline %s\n" % path.encode())
        data(body)
    out.write(b"\n")
