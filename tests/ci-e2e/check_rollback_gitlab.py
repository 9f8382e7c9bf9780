"""Checks gitlab-ci-local's run of gitlab/rollback.yml: each job's dotenv report and the dispatches.

Usage: check_rollback_gitlab.py PROJECT DISPATCHES. Prints one `ok`/`FAIL` line per check and
exits non-zero on a failure.
"""
import os
import sys

from e2echeck import Checks

project, dispatch_log = sys.argv[1], sys.argv[2]
check = Checks("gitlab rollback")
dispatches = [l for l in open(dispatch_log, encoding="utf-8").read().splitlines() if l.strip()]
art = os.path.join(project, ".gitlab-ci-local", "artifacts")
OUTPUTS = {"OUTCOME", "TARGET_SHA", "TARGET_DEPLOYMENT", "DISPATCH_ID", "DISPATCH_URL"}


def dotenv(job):
    path = os.path.join(art, job, ".gitlab-ci-reports", "dotenv", "relman.env")
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        return None, str(e)
    return dict(l.split("=", 1) for l in lines if "=" in l), lines


shas = {}
for job, outcome in [("rollback-drill", "drill-passed"), ("rollback-first", "succeeded"),
                     ("rollback-retry", "succeeded")]:
    env, lines = dotenv(job)
    check(f"{job}: dotenv report written", env is not None, lines)
    env = env or {}
    names = {k.removeprefix("RELMAN_OUT_") for k in env}
    check(f"{job}: dotenv holds only RELMAN_OUT_* outputs the command declares",
          env and all(k.startswith("RELMAN_OUT_") for k in env) and names <= OUTPUTS, lines)
    check(f"{job}: outcome {outcome}", env.get("RELMAN_OUT_OUTCOME") == outcome, lines)
    check(f"{job}: target deployment 1", env.get("RELMAN_OUT_TARGET_DEPLOYMENT") == "1", lines)
    shas[job] = env.get("RELMAN_OUT_TARGET_SHA", "")
    summary = os.path.join(art, job, "relman-summary.md")
    check(f"{job}: its summary artifact", os.path.isfile(summary) and "rollback" in open(summary).read(),
          summary)

# The unexpanded incident: refused before anything was claimed or sent.
env, lines = dotenv("rollback-unexpanded")
check("rollback-unexpanded: outcome error (an input holding $CI_PIPELINE_ID is refused)",
      (env or {}).get("RELMAN_OUT_OUTCOME") == "error", lines)
log = os.path.join(project, ".gitlab-ci-local", "output", "rollback-unexpanded.log")
text = open(log, encoding="utf-8", errors="replace").read() if os.path.isfile(log) else ""
check("rollback-unexpanded: the job log names the unexpanded variable",
      "$CI_PIPELINE_ID" in text and "INC-$CI_PIPELINE_ID" not in dispatches, text[-800:])

sha = shas["rollback-first"]
check("one dispatch in all, of the target for INC-9 (the drill and the retry sent nothing)",
      len(sha) == 40 and dispatches == [f"{sha} INC-9"], dispatches)
check("the retry reports the first rollback's target", shas["rollback-retry"] == sha, shas)
check.done()
