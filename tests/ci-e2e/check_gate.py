"""Checks act's JSON log (act --json) of workflows/gate.yml.

Usage: check_gate.py LOG. Prints one `ok`/`FAIL` line per check and exits non-zero on a failure.
"""
import sys

from e2echeck import ACTIVE, Checks, act_log, parse

entries = act_log(sys.argv[1])
check = Checks("act gate")


def step(job, *ids):
    return [e for e in entries if e.get("jobID") == job and e.get("stepID") == list(ids)]


TABLE = "| Gate | Severity | Result |"
OUTPUTS = {"verdict", "risk", "report"}


def annotations(cmds, level):
    out = []
    for e in cmds:
        if e.get("command") == level:
            command, kv, data = parse(e.get("raw", ""))
            out.append((kv, data) if command == level else (e.get("kvPairs") or {}, e.get("arg", "")))
    return out


for job, verdict in [("go", "go"), ("nogo", "no-go")]:
    run = step(job, "gate", "run")
    cmds = [e for e in run if "command" in e]
    check(f"{job}: the gate step ran", bool(run), "no log line of step gate/run")
    want = "success" if job == "go" else "failure"
    results = {e.get("stepResult") for e in step(job, "gate") if e.get("stepResult") and e.get("stage") == "Main"}
    check(f"{job}: the gate step's result is {want}", results == {want}, results)
    stop = [e for e in cmds if e["command"] == "stop-commands"]
    check(f"{job}: the text report is wrapped in stop-commands", len(stop) == 1, [e.get("msg") for e in cmds][:5])
    outputs = {e.get("name"): e.get("arg") for e in cmds if e["command"] == "set-output"}
    check(f"{job}: outputs are verdict, risk, report", set(outputs) == OUTPUTS, outputs)
    check(f"{job}: verdict output is {verdict}", outputs.get("verdict") == verdict, outputs)
    summary = [e.get("content", "") for e in cmds if e["command"] == "summary"]
    content = summary[0] if summary else ""
    check(f"{job}: one job summary", len(summary) == 1, len(summary))
    check(f"{job}: the summary has the gate table", TABLE in content and f"relman gate: {verdict}" in content,
          content[:600])
    oks = {e["msg"].strip() for e in entries if e.get("jobID") == job and e.get("msg", "").startswith("E2E-OK")}
    check(f"{job}: workflow assertions passed", f"E2E-OK gate-{job}" in oks, sorted(oks))
    job_ok = any(e.get("jobID") == job and e.get("jobResult") == "success" for e in entries)
    check(f"{job}: job succeeded", job_ok)

    if job == "go":
        errs = annotations(cmds, "error")
        check("go: no error annotation", not errs, errs)
        for gate in ["junit", "sarif", "risk", "reviewed"]:
            check(f"go: summary row for {gate} passed", f"| ✅ | {gate} |" in content, content[:800])
        continue

    errs = annotations(cmds, "error")
    warns = annotations(cmds, "warning")
    located = {(kv.get("file"), kv.get("line")) for kv, _ in errs}
    check("nogo: error annotation at the failing test (file=, line= from the JUnit attributes)",
          ("tests/test_api.py", "42") in located
          and any("test_checkout" in kv.get("title", "") and "expected 200, got 500" in arg
                  for kv, arg in errs if kv.get("line") == "42"), errs)
    check("nogo: error annotation at the SARIF result (file=, line= from its location)",
          any(kv.get("file") == "src/app.py" and kv.get("line") == "7" and "sql-injection" in kv.get("title", "")
              for kv, _ in errs), errs)
    for gate in ["junit", "sarif"]:
        check(f"nogo: gate-level error annotation for {gate}",
              any(kv.get("title") == f"relman gate: {gate}" for kv, _ in errs), errs)
    check("nogo: the warning gate is a ::warning, not an error",
          any(kv.get("title") == "relman gate: risk-budget" for kv, _ in warns)
          and not any("risk-budget" in kv.get("title", "") for kv, _ in errs), (warns, errs))
    check("nogo: summary marks the warning gate ⚠️ and the blocking ones ❌",
          "| ⚠️ | risk-budget | warning |" in content and "| ❌ | junit | blocking |" in content
          and "| ❌ | sarif | blocking |" in content, content[:1000])
    # The hostile test name reaches the annotation as escaped property text, whole.
    hostile = [kv.get("title", "") for kv, _ in errs if "hostile" in kv.get("title", "")]
    check("nogo: the hostile test name is an annotation title, escaped intact",
          any("hostile ::set-output name=x::y %0A::error::injected" in t for t in hostile), hostile)
    # Nothing from the report files was read as a workflow command.
    forged = []
    for e in cmds:
        if e["command"] not in ACTIVE:
            continue
        _, kv, data = parse(e["raw"]) if e.get("raw") else (None, e.get("kvPairs") or {}, e.get("arg", ""))
        if ("injected" in data or "injected" in kv.get("title", "")) and "hostile" not in kv.get("title", ""):
            forged.append(e.get("raw", e.get("msg")))
    check("nogo: no workflow command from the hostile test name or message", not forged, forged)
    check("nogo: no output named x (set-output in a test name)", "x" not in outputs, outputs)
    check("nogo: no text was masked", not any("***" in e.get("msg", "") for e in entries if e.get("jobID") == job))

check.done()
