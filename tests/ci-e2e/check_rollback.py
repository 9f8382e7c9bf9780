"""Checks act's JSON log (act --json) of workflows/rollback.yml and the dispatch log.

Usage: check_rollback.py LOG DISPATCHES. Prints one `ok`/`FAIL` line per check and exits non-zero
on a failure.
"""
import sys

from e2echeck import Checks, act_log

entries = act_log(sys.argv[1])
dispatches = [l for l in open(sys.argv[2], encoding="utf-8").read().splitlines() if l.strip()]
check = Checks("act rollback")

OUTPUTS = {"outcome", "target-sha", "target-deployment", "dispatch-id", "dispatch-url"}

for job, outcome in [("drill", "drill-passed"), ("rollback", "succeeded"), ("retry", "succeeded")]:
    run = [e for e in entries if e.get("jobID") == job and e.get("stepID") == ["rollback", "run"]]
    cmds = [e for e in run if "command" in e]
    check(f"{job}: the rollback step ran", bool(run), "no log line of step rollback/run")
    outputs = {e.get("name"): e.get("arg") for e in cmds if e["command"] == "set-output"}
    check(f"{job}: outputs are only the declared ones", outputs and set(outputs) <= OUTPUTS, outputs)
    check(f"{job}: outcome output is {outcome}", outputs.get("outcome") == outcome, outputs)
    check(f"{job}: target-deployment output is 1", outputs.get("target-deployment") == "1", outputs)
    summary = [e.get("content", "") for e in cmds if e["command"] == "summary"]
    check(f"{job}: a job summary naming the rollback",
          len(summary) == 1 and "rollback" in summary[0], [s[:300] for s in summary])
    errors = [e for e in cmds if e["command"] == "error"]
    check(f"{job}: no error annotation", not errors, errors)
    oks = {e["msg"].strip() for e in entries if e.get("jobID") == job and e.get("msg", "").startswith("E2E-OK")}
    want = {"drill": "rollback-drill", "rollback": "rollback-first", "retry": "rollback-retry"}[job]
    check(f"{job}: workflow assertions passed", f"E2E-OK {want}" in oks, sorted(oks))
    job_ok = any(e.get("jobID") == job and e.get("jobResult") == "success" for e in entries)
    check(f"{job}: job succeeded", job_ok)

sha = {e.get("name"): e.get("arg") for e in entries
       if e.get("jobID") == "rollback" and e.get("command") == "set-output"}.get("target-sha", "")
check("one dispatch in all, of the target for INC-7 (the drill and the retry sent nothing)",
      dispatches == [f"{sha} INC-7"] and len(sha) == 40, dispatches)
check.done()
