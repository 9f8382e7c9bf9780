"""Checks the state e2e runs (state.sh): the record job/stage 2 read with `relman audit` is the one
job/stage 1 wrote, as the CI itself describes job 1, and it travelled through the git stand-in
with the token only.

Usage: check_state.py github|gitlab OUT REQUESTS TOKENS LOG
  OUT       the E2E_OUT folder: *-write.json (what the CI said in job 1), *-read.json (what
            `relman audit --format json` printed in job 2), *-read-job.json (job 2's own facts)
  REQUESTS  git_standin.py's request log
  TOKENS    the job token, then (act) the fork's read-only token, comma-separated; none may
            appear in a log
  LOG       the runner's log (act --json, or gitlab-ci-local's output)
Prints one `ok`/`FAIL` line per check and exits non-zero on a failure.
"""
import base64
import json
import os
import re
import sys

from e2echeck import Checks, act_log

forge, out, requests, tokens, log = sys.argv[1:6]
tokens = tokens.split(",")
check = Checks(f"state {'act' if forge == 'github' else 'gitlab-ci-local'}")


def load(name):
    try:
        with open(os.path.join(out, name), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"_error": str(e)}


wrote = load(f"{forge}-write.json")
read = load(f"{forge}-read.json")
job2 = load(f"{forge}-read-job.json")
check("job 1 left its facts", "_error" not in wrote, wrote)
check("job 2 printed JSON", isinstance(read, list), read)
records = read if isinstance(read, list) else []
check("job 2 read exactly one gate.evaluate record", len(records) == 1, records)
r = records[0] if records else {}
details = r.get("details") or {}
subject = r.get("subject") or {}
if forge == "github":
    actor = wrote.get("GITHUB_ACTOR")
    run = "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}".format_map(
        {k: wrote.get(k, "?") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")})
    own_dir = ("GITHUB_WORKSPACE", "GITHUB_WORKSPACE")
else:
    actor = wrote.get("GITLAB_USER_LOGIN")
    run = wrote.get("CI_JOB_URL")
    # CI_PROJECT_DIR is a fixed /builds/… for jobs with an image: each job's real directory.
    own_dir = ("dir", "dir")
    # The component fails its job on a no-go: the write job passing is the CI's word for go.
    passed = re.search(r"^ PASS +state-write *$", open(log, encoding="utf-8", errors="replace").read(), re.M)
    wrote["verdict"] = "go" if passed else "(state-write did not pass)"
check("the record's action is gate.evaluate", r.get("action") == "gate.evaluate", r.get("action"))
check("the record's actor is job 1's actor", bool(actor) and r.get("actor") == actor, (r.get("actor"), actor))
check("the record's run is job 1's run", bool(run) and r.get("run") == run, (r.get("run"), run))
check("the record's verdict is job 1's verdict (go)",
      details.get("verdict") == wrote.get("verdict") == "go", (details.get("verdict"), wrote.get("verdict")))
check("the record is about job 1's commit", bool(wrote.get("head")) and subject.get("sha") == wrote.get("head"),
      (subject.get("sha"), wrote.get("head")))
check("the record names the environment (the policy go)", subject.get("environment") == "go", subject)
check("job 2 ran in another workspace than job 1",
      bool(job2.get(own_dir[1])) and job2.get(own_dir[1]) != wrote.get(own_dir[0]),
      (job2.get(own_dir[1]), wrote.get(own_dir[0])))

# The git traffic: every request carried exactly one Authorization header, the right one.
entries = []
try:
    with open(requests, encoding="utf-8") as f:
        entries = [json.loads(line) for line in f if line.strip()]
except OSError as e:
    check("the git stand-in logged requests", False, e)
job = [e for e in entries if e["auth"] == "ok"]
pushes = [e for e in job if e["method"] == "POST" and e["service"] == "git-receive-pack"]
fetches = [e for e in job if e["method"] == "POST" and e["service"] == "git-upload-pack"]
check("job 1 pushed relman/state to the stand-in (one receive-pack)",
      len(pushes) == 1 and pushes[0]["status"] == 200, pushes)
check("both jobs fetched from the stand-in", len(fetches) >= 2, len(fetches))
refused = [e for e in entries if e["auth"] not in ("ok", "read")]
check("every git request carried a token it was given (none missing or wrong)", not refused, refused[:5])
check("exactly one Authorization header per request (a persisted one would be cleared)",
      all(e.get("auth_headers") == 1 for e in entries), [e.get("auth_headers") for e in entries])

text = open(log, encoding="utf-8", errors="replace").read()
if forge == "github":
    # Job fork: its token fetched, its push was refused (403), and nothing else of it got in.
    fork = [e for e in entries if e["auth"] == "read"]
    check("fork: fetched with its read-only token",
          any(e["service"] == "git-upload-pack" and e["status"] == 200 for e in fork), fork)
    check("fork: its push was refused (403) before sending anything",
          any(e["service"] == "git-receive-pack" and e["status"] == 403 for e in fork)
          and not any(e["method"] == "POST" and e["service"] == "git-receive-pack" for e in fork), fork)
    summaries = [e.get("content", "") for e in act_log(log)
                 if e.get("jobID") == "fork" and e.get("stepID") == ["gate", "run"]
                 and e.get("command") == "summary"]
    check("fork: the job summary says the verdict was not recorded",
          len(summaries) == 1 and "Not recorded in the audit trail" in summaries[0]
          and "relman gate: go" in summaries[0], summaries)

# The tokens never reach a log, neither raw nor as the basic header's base64.
user = "x-access-token" if forge == "github" else "gitlab-ci-token"
secret_forms = [f for t in tokens for f in (t, base64.b64encode(f"{user}:{t}".encode()).decode())]
check("no token is in a log line", all(tokens) and not any(s in text for s in secret_forms))
wants = ["state-write", "state-fresh", "state-read"] + (["state-fork"] if forge == "github" else [])
for want in wants:
    check(f"workflow assertion {want}", f"E2E-OK {want}" in text)
check.done()
