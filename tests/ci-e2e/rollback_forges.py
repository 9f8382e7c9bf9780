#!/usr/bin/env python3
"""`relman rollback` end to end against the GitHub and GitLab stand-in (forge_standin.py).

    rollback_forges.py RELMAN WORK            the checks: one `ok`/`FAIL` line each
    rollback_forges.py RELMAN WORK --bench N  requests per rollback and trigger-to-dispatch
                                              time, N rollbacks per forge (BENCHMARKS.md)

The real binary runs as a CI job runs it: a fresh clone of one bare `file://` origin per job
(the state branch, with claims, audit and drills, is shared only through that origin), the
forge chosen by the CI's own variables (GITHUB_ACTIONS / GITLAB_CI, the API URL, repository and
token), outputs written to $GITHUB_OUTPUT / $RELMAN_DOTENV; most checks start the binary
directly (two jobs at once need no runner, and a runner adds seconds per job), the last ones run
./rollback under act and the component under gitlab-ci-local against the same stand-in. What
relman sent is read from the stand-in's request log.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
RELMAN = os.path.abspath(sys.argv[1])
WORK = Path(sys.argv[2]).resolve()
BENCH = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--bench" else 0
REPO = "relman/relman"
PAST = "2020-01-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"

CONFIG = """\
forge: { kind: auto }
gate:
  policies:
    production:
      gates:
        - rollback: { drill_within_days: 7 }
rollback:
  environments:
    production:             # GitHub: workflow_dispatch; GitLab: the deploy job, else a pipeline
      dispatch:
        workflow: deploy.yml
        inputs: { sha: "{{ target.sha }}" }
      timeout: 1m
      poll: 50ms
    staging:                # GitHub: repository_dispatch
      dispatch:
        repository_dispatch: rollback
        inputs: { sha: "{{ target.sha }}" }
      timeout: 1m
      poll: 50ms
    review:                 # GitHub: a new deployment of the target, deployed by a job watching
      dispatch: { deployment: true }
      timeout: 1m
      poll: 50ms
    gl-production:          # GitLab: replay the target's deploy job while its artifacts exist
      dispatch:
        job: deploy-production
        variables: { DEPLOY_SHA: "{{ target.sha }}" }
      timeout: 1m
      poll: 50ms
"""

DEPLOY_YML = """\
name: deploy
run-name: "deploy ${{ inputs.relman_key }}"
on:
  workflow_dispatch:
    inputs:
      sha: { required: true }
      relman_key: { required: false }
jobs: {}
"""
ROLLBACK_YML = """\
name: rollback
run-name: "rollback ${{ github.event.client_payload.relman_key }}"
on:
  repository_dispatch:
    types: [rollback]
jobs: {}
"""


def git(*args, cwd=None):
    return subprocess.run(["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def fixture():
    """The bare origin: main with four releases (v1.0.0 … v4.0.0) and .relman.yml."""
    seed, origin = WORK / "seed", WORK / "origin.git"
    for d in (seed, origin, WORK / "jobs"):
        shutil.rmtree(d, ignore_errors=True)
    git("init", "-q", "-b", "main", str(seed))
    shas = []
    for n in range(1, 5):
        (seed / "app.txt").write_text(f"v{n}\n")
        if n == 4:
            (seed / ".relman.yml").write_text(CONFIG)
        git("add", "-A", cwd=seed)
        git("commit", "-qm", f"feat: v{n}", cwd=seed)
        git("tag", f"v{n}.0.0", cwd=seed)
        shas.append(git("rev-parse", "HEAD", cwd=seed))
    git("init", "-q", "--bare", "-b", "main", str(origin))
    git("push", "-q", str(origin), "main", "--tags", cwd=seed)
    return shas


class Standin:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = WORK / "requests.jsonl"
        self.log.write_text("")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "forge_standin.py"), str(self.port), str(self.log)])
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self.state()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the forge stand-in did not start")

    def post(self, path, doc):
        req = urllib.request.Request(self.url + path, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=5))

    def state(self):
        return json.load(urllib.request.urlopen(self.url + "/_state", timeout=5))

    def requests(self):
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def seed(standin, shas):
    s1, s2, s3, s4 = shas

    def gh(id, sha, env, *states):
        return {"id": id, "sha": sha, "ref": sha, "environment": env, "task": "deploy",
                "payload": {"relman_ref": f"v{shas.index(sha) + 1}.0.0"}, "created_at": f"2026-01-0{id % 10}T10:00:00Z",
                "creator": {"login": "deployer"},
                "statuses": [{"id": id * 10 + i, "state": st, "description": "", "created_at": f"2026-01-0{id % 10}T10:0{i}:00Z"}
                             for i, st in enumerate(states)]}

    def gl_job(id, status="success", expire=FUTURE, when="on_success"):
        return {"id": id, "name": "deploy-production", "status": status, "ref": "v1.0.0", "when": when,
                "stage": "deploy", "created_at": "2026-01-01T10:00:00Z", "web_url": f"{standin.url}/{REPO}/-/jobs/{id}",
                "artifacts": [{"file_type": "archive"}, {"file_type": "trace"}], "artifacts_expire_at": expire}

    def gl(id, sha, env, status, job):
        n = shas.index(sha) + 1
        return {"id": id, "iid": id, "ref": f"v{n}.0.0", "sha": sha, "status": status, "environment": {"name": env},
                "created_at": f"2026-01-0{id % 10}T10:00:00Z", "updated_at": f"2026-01-0{id % 10}T10:05:00Z",
                "user": {"username": "deployer"}, "_job": job}

    standin.post("/_seed", {
        "github": {
            "permissions": {"admin": False, "push": True, "pull": True},
            "workflows": {".github/workflows/deploy.yml": {"name": "deploy", "yaml": DEPLOY_YML},
                          ".github/workflows/rollback.yml": {"name": "rollback", "yaml": ROLLBACK_YML}},
            "deployments": [
                # v1 succeeded, then GitHub marked it inactive when v2 was deployed: still good.
                gh(101, s1, "production", "in_progress", "success", "inactive"),
                gh(102, s2, "production", "failure"),
                gh(103, s3, "production", "in_progress", "inactive"),  # inactive, never succeeded
                gh(104, s4, "production", "success"),  # current
                gh(201, s1, "staging", "success"),
                gh(202, s2, "staging", "error"),
                gh(203, s4, "staging", "success"),
                gh(401, s1, "review", "success"),
                gh(402, s4, "review", "success"),
            ],
        },
        "gitlab": {
            "access_level": 30,
            "jobs": [gl_job(301), gl_job(302, "failed"), gl_job(303, "canceled"), gl_job(304),
                     gl_job(401, "manual", when="manual")],
            "deployments": [
                gl(11, s1, "gl-production", "success", 301),
                gl(12, s2, "gl-production", "failed", 302),
                gl(13, s3, "gl-production", "canceled", 303),
                gl(14, s4, "gl-production", "success", 304),  # current
            ],
        },
    })


class Jobs:
    """CI jobs: each a fresh clone of the origin, with the CI's variables for its forge."""

    def __init__(self, standin):
        self.standin = standin
        self.count = 0

    def env(self, forge, dir):
        self.count += 1
        base = {"PATH": os.environ["PATH"], "HOME": str(dir), "GIT_CONFIG_NOSYSTEM": "1", "CI": "true",
                "RELMAN_LOG": "warn"}
        if forge == "github":
            return dict(base, GITHUB_ACTIONS="true", GITHUB_API_URL=self.standin.url, GITHUB_REPOSITORY=REPO,
                        GITHUB_SERVER_URL=self.standin.url, GITHUB_TOKEN="e2e-github-token",
                        GITHUB_ACTOR="e2e-sre", GITHUB_RUN_ID=str(7000 + self.count), GITHUB_RUN_ATTEMPT="1",
                        GITHUB_OUTPUT=str(dir / "github-output"), GITHUB_STEP_SUMMARY=str(dir / "summary.md"))
        return dict(base, GITLAB_CI="true", CI_API_V4_URL=f"{self.standin.url}/api/v4", CI_PROJECT_PATH=REPO,
                    CI_JOB_TOKEN="e2e-job-token", GITLAB_USER_LOGIN="e2e-sre", CI_JOB_ID=str(8000 + self.count),
                    CI_JOB_URL=f"{self.standin.url}/{REPO}/-/jobs/{8000 + self.count}",
                    RELMAN_DOTENV=str(dir / "relman.env"))

    def start(self, name, forge, args):
        dir = WORK / "jobs" / name
        shutil.rmtree(dir, ignore_errors=True)
        git("clone", "-q", str(WORK / "origin.git"), str(dir))
        env = self.env(forge, dir)
        started = time.monotonic()
        proc = subprocess.Popen([RELMAN, *args], cwd=dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return Run(name, dir, proc, started)

    def run(self, name, forge, args):
        return self.start(name, forge, args).wait()


class Run:
    def __init__(self, name, dir, proc, started):
        self.name, self.dir, self.proc, self.started = name, dir, proc, started

    def wait(self):
        self.stdout, self.stderr = self.proc.communicate(timeout=120)
        self.code = self.proc.returncode
        self.ended = time.monotonic()
        # Kept beside the job for a person reading a failure.
        (self.dir.parent / f"{self.name}.log").write_text(f"exit {self.code} after {self.ended - self.started:.1f}s\n{self.stdout}\n--- stderr\n{self.stderr}")
        self.outputs = {}
        for f in ("github-output", "relman.env"):
            p = self.dir / f
            if p.exists():
                self.outputs.update(parse_outputs(p.read_text()))
        return self

    def text(self):
        return self.stdout + self.stderr


def parse_outputs(text):
    out, lines, i = {}, text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.removeprefix("RELMAN_OUT_").lower().replace("_", "-")] = v
        i += 1
    return out


def during(requests, run, method=None, contains=""):
    return [r for r in requests if run.started <= r["at"] <= run.ended
            and (method is None or r["method"] == method) and contains in r["path"]]


def rollback_args(env, incident=None, *extra):
    args = ["rollback", "--environment", env, "--reason", "e2e: the deploy broke checkout"]
    return args + (["--incident", incident] if incident else []) + list(extra)


def checks(standin, shas):
    from e2echeck import Checks
    check = Checks("rollback forges")
    jobs = Jobs(standin)
    begun = time.monotonic()
    s1 = shas[0]
    detail = lambda run: f"exit {run.code}; outputs {run.outputs}; log: {run.text()[-1500:]}"  # noqa: E731

    # --- GitHub -------------------------------------------------------------------------------
    drill = jobs.run("gh-drill", "github", ["rollback", "--environment", "production", "--drill"])
    reqs = during(standin.requests(), drill)
    check("github drill: passes (exit 0, outcome drill-passed), target deployment 101 past the failed 102 and the never-good inactive 103",
          drill.code == 0 and drill.outputs.get("outcome") == "drill-passed" and drill.outputs.get("target-deployment") == "101",
          detail(drill))
    check("github drill: only GETs reached the forge (the workflow, its file at the ref, the repository)",
          reqs and all(r["method"] == "GET" for r in reqs)
          and any("/contents/.github/workflows/deploy.yml?ref=v1.0.0" in r["path"] for r in reqs),
          [(r["method"], r["path"]) for r in reqs])
    gate = jobs.run("gh-gate", "github", ["gate", "--policy", "production", "--environment", "production", "--no-commit-status"])
    check("github: the drill recorded in one job is accepted by the gate in another (GO, last drill)",
          gate.code == 0 and "last drill" in gate.stdout, detail(gate))

    first = jobs.run("gh-first", "github", rollback_args("production", "INC-1"))
    reqs = during(standin.requests(), first)
    posts = [r for r in reqs if r["method"] == "POST" and r["path"].endswith("/dispatches")]
    check("github rollback: succeeded (exit 0), to deployment 101 at v1",
          first.code == 0 and first.outputs.get("outcome") == "succeeded"
          and first.outputs.get("target-deployment") == "101" and first.outputs.get("target-sha") == s1, detail(first))
    check("github rollback: the failed (102) and inactive-never-good (103) deployments are listed as skipped",
          all(f"deployment {n}" in first.text() or f" {n} " in first.text() for n in (102, 103)), first.text()[-1500:])
    check("github rollback: one workflow_dispatch of deploy.yml on v1.0.0 with the target sha and relman_key",
          len(posts) == 1 and posts[0]["path"].endswith("/actions/workflows/deploy.yml/dispatches")
          and posts[0]["body"]["ref"] == "v1.0.0" and posts[0]["body"]["inputs"].get("sha") == s1
          and posts[0]["body"]["inputs"].get("relman_key", "").startswith("rollback:production:101:"),
          [(r["path"], r["body"]) for r in posts])
    marked = [r for r in reqs if r["method"] == "POST" and r["path"].endswith("/deployments/104/statuses")]
    check("github rollback: the deployment rolled back from (104) is marked failure",
          len(marked) == 1 and marked[0]["body"]["state"] == "failure", marked)
    polls = [r for r in reqs if "/runs?" in r["path"]]
    check("github rollback: the run was followed until it completed (not listed, queued, in progress, completed)",
          len(polls) >= 4, [(r["path"]) for r in polls])
    check("github rollback: the job summary names the rollback",
          (first.dir / "summary.md").exists() and "rollback" in (first.dir / "summary.md").read_text().lower())

    again = jobs.run("gh-retry", "github", rollback_args("production", "INC-1"))
    reqs = during(standin.requests(), again)
    check("github retried job: reports the first rollback (exit 0, succeeded) and dispatches nothing",
          again.code == 0 and again.outputs.get("outcome") == "succeeded"
          and not [r for r in reqs if r["method"] == "POST"], detail(again) + str([(r["method"], r["path"]) for r in reqs]))

    together = [jobs.start(f"gh-race-{c}", "github", rollback_args("production", "INC-2")) for c in "ab"]
    together = [r.wait() for r in together]
    window = type("W", (), {"started": min(r.started for r in together), "ended": max(r.ended for r in together)})
    posts = during(standin.requests(), window, "POST", "/dispatches")
    winners = [r for r in together if r.code == 0 and r.outputs.get("outcome") == "succeeded"]
    other = [r for r in together if r not in winners[:1]]
    check("github: two simultaneous triggers send one dispatch",
          len(posts) == 1, [p["path"] for p in posts])
    check("github: of two simultaneous triggers one rolls back, the other reports it (succeeded, or unknown/exit 3 while the first had not recorded its dispatch)",
          len(winners) >= 1 and len(other) == 1 and (other[0].code == 0 and other[0].outputs.get("outcome") == "succeeded"
                                                    or other[0].code == 3 and other[0].outputs.get("outcome") == "unknown"),
          [detail(r) for r in together])

    standin.post("/_script", {"github": ["failure"]})
    failed = jobs.run("gh-failed", "github", rollback_args("production", "INC-3"))
    check("github: a dispatched run that fails is exit 3, outcome failed, and names the run",
          failed.code == 3 and failed.outputs.get("outcome") == "failed"
          and f"{standin.url}/{REPO}/actions/runs/" in failed.text(), detail(failed))

    standin.post("/_script", {"github": ["hang"]})
    hung = jobs.run("gh-timeout", "github", rollback_args("production", "INC-6", "--timeout", "1s"))
    check("github: a run still going at --timeout is exit 3, outcome timed-out",
          hung.code == 3 and hung.outputs.get("outcome") == "timed-out", detail(hung))

    dry = jobs.run("gh-dry-run", "github", rollback_args("production", "INC-7", "--dry-run"))
    reqs = during(standin.requests(), dry)
    check("github --dry-run: prints the target and the exact dispatch, sends nothing (GETs only)",
          dry.code == 0 and dry.outputs.get("outcome") == "dry-run" and f'sha="{s1}"' in dry.stdout
          and "deploy.yml" in dry.stdout and all(r["method"] == "GET" for r in reqs),
          detail(dry) + str([(r["method"], r["path"]) for r in reqs]))

    made = jobs.run("gh-deployment", "github", rollback_args("review", "INC-8"))
    reqs = during(standin.requests(), made)
    posts = [r for r in reqs if r["method"] == "POST" and r["path"].endswith("/deployments")]
    check("github deployment: true: one new deployment of the target sha to review, followed to success",
          made.code == 0 and made.outputs.get("outcome") == "succeeded" and made.outputs.get("target-deployment") == "401"
          and len(posts) == 1 and posts[0]["body"]["ref"] == s1 and posts[0]["body"]["environment"] == "review",
          detail(made) + str([p["body"] for p in posts]))

    repo = jobs.run("gh-repository-dispatch", "github", rollback_args("staging", "INC-4"))
    posts = during(standin.requests(), repo, "POST", "/dispatches")
    check("github repository_dispatch: one POST /dispatches (event rollback, target sha and relman_key in client_payload), followed to success",
          repo.code == 0 and repo.outputs.get("outcome") == "succeeded" and repo.outputs.get("target-deployment") == "201"
          and len(posts) == 1 and posts[0]["body"]["event_type"] == "rollback"
          and posts[0]["body"]["client_payload"].get("sha") == s1
          and posts[0]["body"]["client_payload"].get("relman_key", "").startswith("rollback:staging:201:"),
          detail(repo) + str([p["body"] for p in posts]))

    # --- GitLab -------------------------------------------------------------------------------
    drill = jobs.run("gl-drill", "gitlab", ["rollback", "--environment", "gl-production", "--drill"])
    reqs = during(standin.requests(), drill)
    check("gitlab drill: passes, target deployment 11 past the failed 12 and the canceled 13; only GETs",
          drill.code == 0 and drill.outputs.get("outcome") == "drill-passed" and drill.outputs.get("target-deployment") == "11"
          and reqs and all(r["method"] == "GET" for r in reqs), detail(drill) + str([(r["method"], r["path"]) for r in reqs]))
    gate = jobs.run("gl-gate", "gitlab", ["gate", "--policy", "production", "--environment", "gl-production", "--no-commit-status"])
    check("gitlab: the drill recorded in one job is accepted by the gate in another (GO, last drill)",
          gate.code == 0 and "last drill" in gate.stdout, detail(gate))

    first = jobs.run("gl-first", "gitlab", rollback_args("gl-production", "INC-1"))
    reqs = during(standin.requests(), first)
    retries = [r for r in reqs if r["method"] == "POST"]
    check("gitlab rollback: succeeded (exit 0), to deployment 11, by retrying its deploy job 301 (artifacts still there)",
          first.code == 0 and first.outputs.get("outcome") == "succeeded" and first.outputs.get("target-deployment") == "11"
          and [r["path"] for r in retries] == [f"/api/v4/projects/relman%2Frelman/jobs/301/retry"]
          and "retries job 301" in first.text() and "artifacts are still there" in first.text(),
          detail(first) + str([(r["method"], r["path"]) for r in reqs]))
    marked = [r for r in reqs if r["method"] == "PUT" and r["path"].endswith("/deployments/14")]
    check("gitlab rollback: the deployment rolled back from (14) is marked failed",
          len(marked) == 1 and marked[0]["body"] == {"status": "failed"}, marked)

    again = jobs.run("gl-retry", "gitlab", rollback_args("gl-production", "INC-1"))
    reqs = during(standin.requests(), again)
    check("gitlab retried job: reports the first rollback and replays nothing",
          again.code == 0 and again.outputs.get("outcome") == "succeeded"
          and not [r for r in reqs if r["method"] in ("POST", "PUT")], detail(again))

    together = [jobs.start(f"gl-race-{c}", "gitlab", rollback_args("gl-production", "INC-2")) for c in "ab"]
    together = [r.wait() for r in together]
    window = type("W", (), {"started": min(r.started for r in together), "ended": max(r.ended for r in together)})
    posts = during(standin.requests(), window, "POST")
    winners = [r for r in together if r.code == 0 and r.outputs.get("outcome") == "succeeded"]
    other = [r for r in together if r not in winners[:1]]
    check("gitlab: two simultaneous triggers replay the job once", len(posts) == 1, [p["path"] for p in posts])
    check("gitlab: of two simultaneous triggers one rolls back, the other reports it (succeeded, or unknown/exit 3)",
          len(winners) >= 1 and len(other) == 1 and (other[0].code == 0 and other[0].outputs.get("outcome") == "succeeded"
                                                    or other[0].code == 3 and other[0].outputs.get("outcome") == "unknown"),
          [detail(r) for r in together])

    standin.post("/_script", {"gitlab": ["failed"]})
    failed = jobs.run("gl-failed", "gitlab", rollback_args("gl-production", "INC-3"))
    check("gitlab: a replayed job that fails is exit 3, outcome failed, and names the job",
          failed.code == 3 and failed.outputs.get("outcome") == "failed" and f"{REPO}/-/jobs/" in failed.text(), detail(failed))

    standin.post("/_script", {"gitlab": ["canceled"]})
    cancelled = jobs.run("gl-cancelled", "gitlab", rollback_args("gl-production", "INC-4"))
    check("gitlab: a replayed job that is cancelled is exit 3, outcome cancelled",
          cancelled.code == 3 and cancelled.outputs.get("outcome") == "cancelled", detail(cancelled))

    standin.post("/_jobs/301", {"artifacts_expire_at": PAST})
    expired = jobs.run("gl-expired", "gitlab", rollback_args("gl-production", "INC-5"))
    reqs = during(standin.requests(), expired)
    posts = [r for r in reqs if r["method"] == "POST"]
    variables = {v["key"]: v["value"] for v in ((posts[0]["body"] or {}).get("variables", []) if posts else [])}
    check("gitlab, artifacts expired: a new pipeline on v1.0.0 with DEPLOY_SHA and the key, no replay; the output says why",
          expired.code == 0 and expired.outputs.get("outcome") == "succeeded"
          and [r["path"] for r in posts] == ["/api/v4/projects/relman%2Frelman/pipeline"]
          and posts[0]["body"]["ref"] == "v1.0.0" and variables.get("DEPLOY_SHA") == s1
          and variables.get("RELMAN_IDEMPOTENCY_KEY", "").startswith("rollback:gl-production:11:")
          and "artifacts expired at" in expired.text() and "301" in expired.text(),
          detail(expired) + str(posts))

    direct = time.monotonic()
    print(f"note: the direct runs took {direct - begun:.0f}s")
    through_ci(standin, shas, check)
    print(f"note: act and gitlab-ci-local took {time.monotonic() - direct:.0f}s")

    unknown = [r for r in standin.requests() if r["status"] == 404]
    check("no request relman sent was unknown to the stand-in (404)", not unknown,
          sorted({(r["method"], r["path"]) for r in unknown}))
    check.done()


def through_ci(standin, shas, check):
    """The rollback action under act and the component under gitlab-ci-local, against the same
    stand-in: a rollback and its re-run in two jobs, one dispatch."""
    root = HERE.parent.parent
    bin = WORK / "bin"
    bin.mkdir(exist_ok=True)
    if not (bin / "relman").exists():
        os.symlink(RELMAN, bin / "relman")
    missing = [t for t in ("act", "gitlab-ci-local") if shutil.which(t) is None]
    if missing:
        # run.sh installs both; elsewhere (a developer's quick run) they may be absent.
        check(f"act and gitlab-ci-local on PATH ({' '.join(missing)} missing)", os.environ.get("CI") != "true")
        return
    seed(standin, shas)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELMAN_", "GITHUB_", "GITLAB_", "CI_"))}
    ci = WORK / "ci"
    shutil.rmtree(ci, ignore_errors=True)
    ci.mkdir()

    fixture = ci / "act-fixture"
    git("clone", "-q", str(WORK / "origin.git"), str(fixture))
    window = Run("act", ci, None, time.monotonic())
    log = ci / "act.log"
    with open(log, "w") as out:
        rc = subprocess.run(["act", "push", "--json", "-P", "ubuntu-latest=-self-hosted",
                             "-W", str(HERE / "workflows" / "rollback-forge.yml"),
                             "--env", f"ROLLBACK_FIXTURE={fixture}", "--env", f"RELMAN_TEST_BIN={bin}",
                             "--env", f"GITHUB_API_URL={standin.url}", "--env", f"GITHUB_REPOSITORY={REPO}",
                             "-s", "GITHUB_TOKEN=e2e-github-token"],
                            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=300).returncode
    window.ended = time.monotonic()
    from e2echeck import act_log
    entries = act_log(log)
    marks = {e["msg"].strip() for e in entries if e.get("msg", "").startswith("E2E-OK")}
    outcomes = {e.get("jobID"): e.get("arg") for e in entries
                if e.get("command") == "set-output" and e.get("name") == "outcome"}
    posts = during(standin.requests(), window, "POST", "/dispatches")
    check("act: ./rollback against the GitHub stand-in rolls back, its re-run reports it (both jobs succeeded)",
          rc == 0 and marks == {"E2E-OK rollback-forge-first", "E2E-OK rollback-forge-retry"}
          and outcomes == {"rollback": "succeeded", "retry": "succeeded"}, f"act exit {rc}, {marks}, {outcomes}, log {log}")
    check("act: one workflow_dispatch for the two jobs", len(posts) == 1, [p["path"] for p in posts])

    repo = ci / "gcl"
    git("clone", "-q", str(WORK / "origin.git"), str(repo))
    (repo / "templates").mkdir()
    for t in (root / "templates").glob("*.yml"):
        shutil.copy(t, repo / "templates" / t.name)
    shutil.copy(HERE / "gitlab" / "rollback-forge.yml", repo / ".gitlab-ci.yml")
    # gitlab-ci-local derives the project from origin, so the state goes through another remote.
    with open(repo / ".relman.yml", "a") as f:
        f.write("state:\n  remote: state\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "ci: the component under test", cwd=repo)
    git("remote", "set-url", "origin", "git@gitlab.example.com:relman/relman.git", cwd=repo)
    git("remote", "add", "state", f"file://{WORK / 'origin.git'}", cwd=repo)
    window = Run("gcl", ci, None, time.monotonic())
    log = ci / "gcl.log"
    with open(log, "w") as out:
        rc = subprocess.run(["gitlab-ci-local", "--force-shell-executor",
                             "--variable", f"CI_API_V4_URL={standin.url}/api/v4",
                             "--variable", "CI_JOB_TOKEN=e2e-job-token", "--variable", "GITLAB_CI=true"],
                            cwd=repo, env=dict(env, PATH=f"{bin}:{env['PATH']}"), stdout=out,
                            stderr=subprocess.STDOUT, timeout=300).returncode
    window.ended = time.monotonic()
    dotenv = {}
    for job in ("rollback-first", "rollback-retry"):
        f = repo / ".gitlab-ci-local" / "artifacts" / job / ".gitlab-ci-reports" / "dotenv" / "relman.env"
        dotenv[job] = parse_outputs(f.read_text()) if f.exists() else {}
    posts = during(standin.requests(), window, "POST")
    check("gitlab-ci-local: the component against the GitLab stand-in rolls back, its re-run reports it",
          rc == 0 and all(d.get("outcome") == "succeeded" and d.get("target-deployment") == "11" for d in dotenv.values()),
          f"exit {rc}, {dotenv}, log {log}")
    check("gitlab-ci-local: one job retry for the two jobs",
          [p["path"] for p in posts] == ["/api/v4/projects/relman%2Frelman/jobs/301/retry"], [p["path"] for p in posts])


DISPATCH_SUFFIXES = ("/dispatches", "/retry", "/play", "/pipeline")


def phases(reqs):
    """Each request of one rollback by its part: `target` (deployments read before the
    dispatch), `pre-dispatch` (other reads before it: the deploy job, earlier runs or pipelines
    carrying the key), `dispatch` (the POST), `mark` (the deployment rolled back from, after
    it) and `follow` (the run, job or pipeline, after it)."""
    out, sent = {}, False
    for r in reqs:
        if r["method"] == "POST" and r["path"].split("?")[0].endswith(DISPATCH_SUFFIXES):
            part, sent = "dispatch", True
        elif "/deployments" in r["path"]:
            part = "mark" if sent else "target"
        else:
            part = "follow" if sent else "pre-dispatch"
        out[part] = out.get(part, 0) + 1
    return out


def bench(standin, shas):
    """N rollbacks per forge, each with its own incident, each in a fresh job against a freshly
    seeded forge; then N bare curl POSTs of the same dispatch (the floor: what `gh workflow run`
    or a curl to the API costs). Times are medians, from the process start to the request's
    arrival at the stand-in (both CLOCK_MONOTONIC); the clone before each job is not counted."""
    jobs = Jobs(standin)
    rows = {}
    for forge, env, path in (("github", "production", f"/repos/{REPO}/actions/workflows/deploy.yml/dispatches"),
                             ("gitlab", "gl-production", "/api/v4/projects/relman%2Frelman/jobs/301/retry")):
        counts, to_dispatch, to_first, quiet, total = [], [], [], [], []
        for i in range(BENCH):
            seed(standin, shas)  # each a first rollback: the current deployment not yet marked
            run = jobs.run(f"bench-{forge}-{i}", forge, rollback_args(env, f"BENCH-{i}"))
            if run.code != 0:
                raise SystemExit(f"bench run failed: {run.text()[-2000:]}")
            reqs = during(standin.requests(), run)
            sent = [r for r in reqs if r["method"] == "POST" and r["path"].split("?")[0].endswith(DISPATCH_SUFFIXES)]
            counts.append(phases(reqs))
            to_dispatch.append((sent[0]["at"] - run.started) * 1000)
            to_first.append((reqs[0]["at"] - run.started) * 1000)
            upto = [run.started] + [r["at"] for r in reqs if r["at"] <= sent[0]["at"]]
            quiet.append(max(b - a for a, b in zip(upto[1:], upto[2:])) * 1000)
            total.append((run.ended - run.started) * 1000)
        curl, pushed = [], []
        for i in range(BENCH):
            body = (json.dumps({"ref": "v1.0.0", "inputs": {"sha": shas[0], "relman_key": f"curl-{i}"}})
                    if forge == "github" else "")
            header = "Authorization: Bearer floor" if forge == "github" else "JOB-TOKEN: floor"
            post = ["curl", "-fsS", "-o", "/dev/null", "-X", "POST", "-H", header, "-H",
                    "Content-Type: application/json", "-d", body, standin.url + path]
            # The floor, and the floor with a record first: a hand-written job that commits a
            # claim and pushes it to the same origin before the POST (no read, no check).
            job = WORK / "jobs" / f"floor-{forge}-{i}"
            shutil.rmtree(job, ignore_errors=True)
            git("clone", "-q", str(WORK / "origin.git"), str(job))
            for times, cmd in ((curl, post), (pushed, ["sh", "-c",
                               'git -c user.name=e2e -c user.email=e2e@example.invalid commit -q --allow-empty -m claim '
                               '&& git push -q origin "HEAD:refs/heads/claim-$0" && exec "$@"', f"{forge}-{i}", *post])):
                t0 = time.monotonic()
                subprocess.run(cmd, cwd=job, check=True)
                arrived = [r for r in standin.requests() if r["at"] >= t0 and r["method"] == "POST"]
                times.append((arrived[0]["at"] - t0) * 1000)
        rows[forge] = {
            "requests": {k: statistics.median(c.get(k, 0) for c in counts) for k in ("target", "pre-dispatch", "dispatch", "mark", "follow")},
            "requests_total": statistics.median(sum(c.values()) for c in counts),
            "trigger_to_first_request_ms": statistics.median(to_first),
            "trigger_to_dispatch_ms": statistics.median(to_dispatch),
            # the longest stretch between two API requests before the dispatch: the claim
            # committed and pushed to the state branch (git, no API request)
            "longest_quiet_before_dispatch_ms": statistics.median(quiet),
            "whole_rollback_ms": statistics.median(total),
            "curl_to_dispatch_ms": statistics.median(curl),
            "commit_push_curl_to_dispatch_ms": statistics.median(pushed),
        }
        rows[forge]["ratio_to_curl"] = rows[forge]["trigger_to_dispatch_ms"] / rows[forge]["curl_to_dispatch_ms"]
        rows[forge]["ratio_to_commit_push_curl"] = (rows[forge]["trigger_to_dispatch_ms"]
                                                    / rows[forge]["commit_push_curl_to_dispatch_ms"])
    print(json.dumps(rows, indent=2))


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    shas = fixture()
    standin = Standin()
    try:
        seed(standin, shas)
        if BENCH:
            bench(standin, shas)
        else:
            sys.path.insert(0, str(HERE))
            checks(standin, shas)
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
