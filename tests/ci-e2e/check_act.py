"""Checks act's JSON log (act --json) of workflows/actions.yml.

Usage: check_act.py LOG. Prints one `ok`/`FAIL` line per check and exits non-zero on a failure.
"""
import sys

from e2echeck import Checks, act_log

entries = act_log(sys.argv[1])
check = Checks("act")


def step(*ids):
    return [e for e in entries if e.get("stepID") == list(ids)]


# Workflow commands a runner would act on. 'ignored' is act's word for a command line seen while
# commands are stopped.
ACTIVE = {"error", "warning", "notice", "debug", "add-mask", "set-env", "add-path", "group",
          "endgroup", "echo", "save-state", "add-matcher", "remove-matcher"}

run = step("cl", "run")
check("changelog step ran", any(e.get("stepResult") == "success" for e in step("cl")), "no success")
cmds = [e for e in run if "command" in e]
stop = [e for e in cmds if e["command"] == "stop-commands"]
check("untrusted stdout is wrapped in stop-commands", len(stop) == 1, [e.get("msg") for e in cmds][:5])
token = stop[0]["arg"] if stop else None
check("stop-commands token is random (>=32 hex)", bool(token) and len(token) >= 38, token)
active = [e["raw"] for e in cmds if e["command"] in ACTIVE]
check("no workflow command from commit messages", not active, active)
outputs = {e.get("name") for e in cmds if e["command"] == "set-output"}
check("only declared outputs set", outputs <= {"version", "previous-tag", "notes"}, outputs)
ignored = {e["raw"].strip() for e in cmds if e["command"] == "ignored"}
for probe in ["::error::injected-error", "::add-mask::injected", "::set-output name=injected::yes",
              "::stop-commands::resume", "::warning::from-body"]:
    check(f"{probe} seen and ignored", probe in ignored, sorted(ignored))
check("%0A line is plain text", not any("encoded-newline" in e.get("raw", "") for e in cmds))
check("no text was masked", not any("***" in e.get("msg", "") for e in entries
                                    if e.get("stepID", [""])[0] != "control"))

summary = [e for e in run if e.get("command") == "summary"]
content = summary[0]["content"] if summary else ""
check("job summary written", len(summary) == 1, len(summary))
check("job summary has the notes as markdown lines",
      "add the widget\n" in content and "\n::error::injected-error\n" in content, content)
notes = [e["arg"] for e in run if e.get("command") == "set-output" and e.get("name") == "notes"]
# The notes output is the plain render; the summary renders the same template with every
# interpolated value made inert markdown (a multi-line commit body becomes one line).
PLAIN = ("add the widget\n%0A::error::encoded-newline\n::warning::from-body\n::resume::\n"
         "::set-env name=X::y\n::stop-commands::resume\n::set-output name=injected::yes\n"
         "::add-mask::injected\n::error::injected-error\n")
check("notes output is the plain render", notes == [PLAIN], notes)
check("summary is the escaped render",
      content == PLAIN.replace("::warning::from-body\n::resume::\n::set-env",
                               "::warning::from-body ::resume:: ::set-env"), content)

bad = step("bad", "run")
errs = [e for e in bad if e.get("command") == "error"]
check("an error is an annotation", any("v9.9.9-missing" in e.get("arg", "") for e in errs),
      [e.get("msg") for e in bad])
check("the failing step failed", any(e.get("stepResult") == "failure" for e in step("bad", "run")))

control = [e for e in step("control") if e.get("command") in ACTIVE]
check("control: raw text is read as commands (checker not vacuous)",
      bool(control), [e.get("command") for e in control])

oks = {e["msg"].strip() for e in entries if e.get("msg", "").startswith("E2E-OK")}
for want in ["outputs", "root", "error-outcome", "install", "checksum"]:
    check(f"workflow assertion {want}", f"E2E-OK {want}" in oks, sorted(oks))
job_ok = any(e.get("jobResult") == "success" for e in entries) or \
    any(e.get("msg", "").strip() == "🏁  Job succeeded" for e in entries)
check("job succeeded", job_ok)
check.done()
