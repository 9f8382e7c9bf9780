"""Checks act's JSON log (act --json) of workflows/hostile.yml.

Usage: check_hostile.py LOG. Prints one `ok`/`FAIL` line per check and exits non-zero on a
failure. act parses workflow commands on every step's stdout and stderr as the runner does, so
a command the hostile text forged would be in the log as a command entry.
"""
import sys

from e2echeck import ACTIVE, Checks, act_log, parse

entries = act_log(sys.argv[1])
check = Checks("act hostile")
# What the attack would leave if obeyed (fixture/make-hostile-repo.sh, hostile_api.py).
FORGED_DATA = {"forged", "forged-old", "forged-after-resume", "forged-encoded", "yes", "1"}


def job(name):
    return [e for e in entries if e.get("jobID") == name]


def forged(cmds):
    """The command entries the attack produced: anything carrying its names or bare values."""
    out = []
    for e in cmds:
        command = e.get("command")
        if command == "set-output":
            if e.get("name") == "pwned":
                out.append(e.get("raw", e.get("msg")))
            continue
        if command == "stop-commands":
            if e.get("arg") == "resume":
                out.append(e.get("raw"))
            continue
        if command not in ACTIVE:
            continue
        _, kv, data = parse(e["raw"]) if e.get("raw") else (None, e.get("kvPairs") or {}, e.get("arg", ""))
        name = kv.get("name") or e.get("name") or ""
        if (data.strip() in FORGED_DATA or data.strip() == "MASKME" or kv.get("title") == "FORGED"
                or name in ("pwned", "PWNED")):
            out.append(e.get("raw", e.get("msg")))
    return out


hostile = job("hostile")
cmds = [e for e in hostile if "command" in e]
msgs = "\n".join(e.get("msg", "") for e in hostile)

# The text reached the log from each step (so the checks below are not vacuous).
for step_id, what in [("gate", "test names and SARIF messages"), ("level", "a SARIF level"),
                      ("key", "a .relman.yml key"), ("api", "API error bodies"),
                      ("changelog", "commit text")]:
    lines = [e.get("msg", "") for e in hostile if (e.get("stepID") or [""])[0] == step_id]
    shown = any("set-output name=pwned" in line for line in lines)
    check(f"{step_id}: {what} reached the log", shown, lines[-8:])
check("api: the stand-in's error message is quoted", "api x" in msgs or "field x" in msgs,
      [m for m in msgs.splitlines() if "422" in m][:3])

bad = forged(cmds)
check("no workflow command was obeyed from any hostile field", not bad, bad)
check("no text was masked (::add-mask::MASKME not obeyed)", "***" not in msgs,
      [m for m in msgs.splitlines() if "***" in m][:3])
outputs = {e.get("name") for e in cmds if e.get("command") == "set-output"}
RELMANS = {"verdict", "risk", "report", "version", "previous-tag", "notes", "release-url",
           "path", "relman-path"}  # the last two: the actions' install step
check("only relman's outputs were set", outputs <= RELMANS, outputs)
envs = [e.get("raw") for e in cmds if e.get("command") == "set-env"]
check("no environment variable was set", not envs, envs)

summaries = [e.get("content", "") for e in cmds if e.get("command") == "summary"]
check("job summaries: the gate's and the changelog's", len(summaries) >= 3, len(summaries))
for s in summaries:
    lines = s.splitlines()
    check("summary: no raw HTML or link from repository text",
          "<img" not in s and "<b>" not in s and "[click](https" not in s, s[:600])
    # An error chain is shown as an indented code block (4 spaces on every line: text, not
    # markdown); any other line is one line of escaped repository text at most.
    loose = [l for l in lines if l.startswith("::") or l.startswith("##[")]
    check("summary: repository text stays inside its line or code block", not loose, loose[:3])
changelog_summary = [s for s in summaries if "hostile" in s and "Gate" not in s]
check("changelog summary shows the commit text, escaped",
      any("&lt;img src=x onerror=alert(1)&gt;" in s for s in changelog_summary), changelog_summary[:1])

oks = {e["msg"].strip() for e in entries if e.get("msg", "").startswith("E2E-OK")}
for want in ["hostile", "json", "control"]:
    check(f"workflow assertions: {want}", f"E2E-OK {want}" in oks, sorted(oks))
for name in ["hostile", "json"]:
    check(f"{name}: job succeeded", any(e.get("jobResult") == "success" for e in job(name)))
json_cmds = [e for e in job("json") if "command" in e]
check("json: no workflow command from the JSON on stdout", not forged(json_cmds), forged(json_cmds))

control = [e for e in job("control") if e.get("command") == "set-output" and e.get("name") == "pwned"]
check("control: the raw text is obeyed (the checker is not vacuous)", bool(control),
      [e.get("command") for e in job("control") if "command" in e])
check("control: the checker flags it", bool(forged([e for e in job("control") if "command" in e])))
check.done()
