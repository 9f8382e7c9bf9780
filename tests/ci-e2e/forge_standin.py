#!/usr/bin/env python3
"""A stateful stand-in for the GitHub and GitLab endpoints `relman rollback` calls.

    forge_standin.py PORT LOG

Sibling of standin.py (releases): deployments and their statuses, workflow and repository
dispatches with the runs they start, GitLab deployments, jobs (play / retry, artifacts) and
pipelines. Listens on 127.0.0.1:PORT; every API request is appended to LOG (JSON lines:
method, path, forge, status answered, body, `at`: CLOCK_MONOTONIC seconds when it arrived) so a test counts
what relman sent. Control endpoints (not logged):
  POST /_seed    {"github": {"deployments": [...], "workflows": {...}},
                  "gitlab": {"deployments": [...], "jobs": [...]}}   replaces all state
  POST /_script  {"github": ["failure"], "gitlab": ["failed"]}  the conclusions of the next
                 runs, deployments, pipelines or jobs started (FIFO; then `success`; `hang`
                 never ends)
  POST /_jobs/{id}  fields to set on a GitLab job (e.g. artifacts_expire_at)
  GET  /_state   everything, as the forge holds it

A run relman starts (dispatched workflow, retried or played job, created pipeline) moves on at
each look: as made (queued / pending / created), running, then ended with its scripted
conclusion; a GitHub run is not listed at the first look after its dispatch (GitHub lists a run
seconds later). A follower sees every state. A deployment relman creates gains an in_progress
status, then its conclusion, at its second and third status read.

GitHub (under /repos/{o}/{r}; a Bearer/token Authorization is required):
  GET  /deployments?environment=&per_page=     newest first     POST /deployments
  GET  /deployments/{id}   GET|POST /deployments/{id}/statuses  (newest first)
  GET  /actions/workflows/{file}   GET /actions/workflows   GET /contents/{path}[?ref=]
  POST /actions/workflows/{file}/dispatches   204; 422 unless inputs.relman_key is declared
  POST /dispatches                            204 (repository_dispatch)
  GET  /actions/workflows/{file}/runs?event=workflow_dispatch   GET /actions/runs?event=…
  GET  /actions/runs/{id}   GET (the repository: permissions.push)
GitLab (under /api/v4/projects/{id}; JOB-TOKEN or PRIVATE-TOKEN is required):
  GET  /deployments?environment=&order_by=id&sort=desc[&status=]  GET|PUT /deployments/{id}
  GET  /jobs/{id}   POST /jobs/{id}/play (manual only)   POST /jobs/{id}/retry (finished only)
  POST /pipeline   GET /pipelines?ref=…   GET /pipelines/{id}[/variables]
  GET  (the project: permissions)   GET /repository/branches/{b}   GET /repository/tags/{t}
Anything else is 404, logged. Exits on SIGTERM/SIGINT, or when its parent goes away.
"""

import base64
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

PORT = int(sys.argv[1])
LOG = sys.argv[2]
BASE = f"http://127.0.0.1:{PORT}"
lock = threading.Lock()
state = {}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def reset(seed):
    gh, gl = seed.get("github", {}), seed.get("gitlab", {})
    state.clear()
    state.update({
        "gh_deployments": {d["id"]: d for d in gh.get("deployments", [])},
        "gh_statuses": {d["id"]: d.pop("statuses", []) for d in gh.get("deployments", [])},
        "gh_workflows": gh.get("workflows", {}),  # path -> {"name", "state", "yaml"}
        "gh_permissions": gh.get("permissions"),
        "gh_runs": [],
        "gl_deployments": {d["id"]: d for d in gl.get("deployments", [])},
        "gl_jobs": {j["id"]: j for j in gl.get("jobs", [])},
        "gl_pipelines": [],
        "gl_access_level": gl.get("access_level"),
        "script": {"github": [], "gitlab": []},
        "next_id": 5000,
    })


reset({})


def new_id():
    state["next_id"] += 1
    return state["next_id"]


def conclusion(forge):
    queue = state["script"][forge]
    return queue.pop(0) if queue else "success"


def advance(run, done_status, running, hidden=0):
    """One look at a run, job or pipeline relman started: the first `hidden` looks do not see
    it, the next one sees it as it was made, then running, then ended. Whether it is seen."""
    run["_looks"] = run.get("_looks", 0) + 1
    seen = run["_looks"] - hidden
    if seen == 2:
        run["status"] = running
    elif seen >= 3:
        run["status"] = done_status(run)
    return seen >= 1


def public(d):
    return {k: v for k, v in d.items() if not k.startswith("_")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def reply(self, status, doc=None):
        # Logged before the answer goes out: whoever got an answer finds its request in LOG.
        if self.entry is not None:
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(dict(self.entry, status=status)) + "\n")
        data = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def handle_any(self, method):
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with lock:
            self.entry = None
            if url.path.startswith("/_"):
                return self.control(method, url.path, body)
            gitlab = url.path.startswith("/api/v4/")
            if gitlab:
                authed = any(self.headers.get(h) for h in ("JOB-TOKEN", "PRIVATE-TOKEN"))
            else:
                auth = self.headers.get("Authorization") or ""
                authed = auth.split(" ", 1)[0] in ("Bearer", "token") and len(auth.split(" ", 1)[-1]) > 0
            self.entry = {"method": method, "path": self.path, "forge": "gitlab" if gitlab else "github",
                          "at": arrived, "body": body}
            if not authed:
                self.reply(401, {"message": "401 Unauthorized"})
            elif gitlab:
                self.gitlab(method, url.path, query, body)
            else:
                self.github(method, url.path, query, body)

    def control(self, method, path, body):
        if method == "POST" and path == "/_seed":
            reset(body or {})
            return self.reply(200, {"ok": True})
        if method == "POST" and path == "/_script":
            for forge, queue in (body or {}).items():
                state["script"][forge].extend(queue)
            return self.reply(200, state["script"])
        m = re.fullmatch(r"/_jobs/(\d+)", path)
        if method == "POST" and m and int(m[1]) in state["gl_jobs"]:
            state["gl_jobs"][int(m[1])].update(body or {})
            return self.reply(200, state["gl_jobs"][int(m[1])])
        if method == "GET" and path == "/_state":
            return self.reply(200, {k: (list(v.values()) if isinstance(v, dict) and k != "script" else v)
                                    for k, v in state.items()})
        return self.reply(404, {"message": "no such control"})

    # --- GitHub ---------------------------------------------------------------------------------

    def github(self, method, path, query, body):
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m:
            return self.reply(404, {"message": "Not Found"})
        repo, rest = f"{m[1]}/{m[2]}", m[3] or ""
        deployments, statuses = state["gh_deployments"], state["gh_statuses"]
        if method == "GET" and rest == "":
            doc = {"full_name": repo, "default_branch": "main"}
            if state["gh_permissions"] is not None:
                doc["permissions"] = state["gh_permissions"]
            return self.reply(200, doc)
        if rest == "/deployments":
            if method == "GET":
                env, sha = query.get("environment"), query.get("sha")
                listed = [d for d in deployments.values()
                          if (env is None or d["environment"] == env) and (sha is None or d["sha"] == sha)]
                listed.sort(key=lambda d: d["id"], reverse=True)
                return self.reply(200, [public(d) for d in listed[: int(query.get("per_page", 30))]])
            if method == "POST":
                did = new_id()
                d = {"id": did, "sha": body["ref"], "ref": body["ref"], "environment": body["environment"],
                     "task": body.get("task", "deploy"), "payload": body.get("payload", {}),
                     "created_at": now(), "creator": {"login": "relman-bot"},
                     "url": f"{BASE}/repos/{repo}/deployments/{did}"}
                deployments[did] = d
                statuses[did] = []
                # A deployment relman makes (`deployment: true`) is deployed by a job watching
                # deployments: its statuses move on at each look, to the scripted conclusion.
                d["_conclusion"] = conclusion("github")
                return self.reply(201, public(d))
        m = re.fullmatch(r"/deployments/(\d+)(/statuses)?", rest)
        if m:
            did = int(m[1])
            if did not in deployments:
                return self.reply(404, {"message": "Not Found"})
            if not m[2] and method == "GET":
                return self.reply(200, public(deployments[did]))
            if m[2] and method == "GET":
                self.deploying(deployments[did], statuses[did])
                return self.reply(200, list(reversed(statuses[did])))
            if m[2] and method == "POST":
                s = {"id": new_id(), "state": body["state"], "description": body.get("description", ""),
                     "created_at": now()}
                statuses[did].append(s)
                return self.reply(201, s)
        workflows = state["gh_workflows"]
        # Workflows and files carry every field GitHub's description requires: relman reads
        # them as octocrab's models, which refuse an answer missing one.
        def workflow(i, p, w):
            api = f"{BASE}/repos/{repo}/actions/workflows/{i}"
            return {"id": i, "node_id": f"W_{i}", "name": w["name"], "path": p,
                    "state": w.get("state", "active"), "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z", "url": api,
                    "html_url": f"{BASE}/{repo}/blob/main/{p}", "badge_url": f"{BASE}/{repo}/workflows/{i}/badge.svg"}
        ids = {p: i + 1 for i, p in enumerate(sorted(workflows))}
        if method == "GET" and rest == "/actions/workflows":
            return self.reply(200, {"total_count": len(workflows), "workflows": [
                workflow(ids[p], p, w) for p, w in sorted(workflows.items())]})
        m = re.fullmatch(r"/actions/workflows/([^/]+)(/dispatches|/runs)?", rest)
        if m:
            file = unquote(m[1])
            found = [(p, w) for p, w in workflows.items() if p.rsplit("/", 1)[-1] == file]
            if not found:
                return self.reply(404, {"message": "Not Found"})
            wpath, w = found[0]
            if not m[2] and method == "GET":
                return self.reply(200, workflow(ids[wpath], wpath, w))
            if m[2] == "/dispatches" and method == "POST":
                inputs = (body or {}).get("inputs") or {}
                if "relman_key" not in w["yaml"]:
                    return self.reply(422, {"message": "Unexpected inputs provided: [\"relman_key\"]"})
                self.start_run(repo, "workflow_dispatch", wpath, w["name"],
                               f"deploy {inputs.get('relman_key', '')}", body)
                return self.reply(204)
            if m[2] == "/runs" and method == "GET":
                return self.reply(200, self.runs(lambda r: r["path"] == wpath, query))
        if method == "POST" and rest == "/dispatches":
            key = ((body or {}).get("client_payload") or {}).get("relman_key", "")
            self.start_run(repo, "repository_dispatch", ".github/workflows/rollback.yml", "rollback",
                           f"rollback {key}", body)
            return self.reply(204)
        if method == "GET" and rest == "/actions/runs":
            return self.reply(200, self.runs(lambda r: True, query))
        m = re.fullmatch(r"/actions/runs/(\d+)", rest)
        if method == "GET" and m:
            run = next((r for r in state["gh_runs"] if r["id"] == int(m[1])), None)
            if run is None or not self.look(run):
                return self.reply(404, {"message": "Not Found"})
            return self.reply(200, public(run))
        m = re.fullmatch(r"/contents/(.+)", rest)
        if method == "GET" and m:
            w = workflows.get(unquote(m[1]))
            if w is None:
                return self.reply(404, {"message": "Not Found"})
            fpath = unquote(m[1])
            api = f"{BASE}/repos/{repo}/contents/{fpath}"
            return self.reply(200, {"type": "file", "encoding": "base64", "path": fpath,
                                    "name": fpath.rsplit("/", 1)[-1], "sha": "0" * 40,
                                    "size": len(w["yaml"].encode()), "url": api,
                                    "html_url": f"{BASE}/{repo}/blob/main/{fpath}", "git_url": None,
                                    "download_url": None, "_links": {"self": api, "git": None, "html": None},
                                    "content": base64.encodebytes(w["yaml"].encode()).decode()})
        return self.reply(404, {"message": "Not Found"})

    def start_run(self, repo, event, path, name, title, request):
        rid = new_id()
        state["gh_runs"].append({
            "id": rid, "name": name, "display_title": title, "event": event, "path": path,
            "status": "queued", "conclusion": None, "created_at": now(),
            "html_url": f"{BASE}/{repo}/actions/runs/{rid}", "_conclusion": conclusion("github"),
            "_request": request,
        })

    def look(self, run):
        def done(r):
            if r["_conclusion"] == "hang":  # never ends: the follower's timeout must
                return "in_progress"
            r["conclusion"] = r["_conclusion"]
            return "completed"
        return advance(run, done, "in_progress", hidden=1)

    def deploying(self, d, statuses):
        if "_conclusion" not in d:
            return
        d["_looks"] = d.get("_looks", 0) + 1
        final = {"success": "success", "failure": "failure", "cancelled": "error"}.get(d["_conclusion"])
        if d["_looks"] == 2 or (d["_looks"] == 3 and final is None):
            statuses.append({"id": new_id(), "state": "in_progress", "description": "", "created_at": now()})
        elif d["_looks"] == 3:
            statuses.append({"id": new_id(), "state": final, "description": "deployed", "created_at": now()})

    def runs(self, which, query):
        event = query.get("event")
        listed = [public(r) for r in reversed(state["gh_runs"])
                  if which(r) and (event is None or r["event"] == event) and self.look(r)]
        return {"total_count": len(listed), "workflow_runs": listed}

    # --- GitLab ---------------------------------------------------------------------------------

    def gitlab(self, method, path, query, body):
        m = re.fullmatch(r"/api/v4/projects/([^/]+)(/.*)?", path)
        if not m:
            return self.reply(404, {"message": "404 Not Found"})
        project, rest = unquote(m[1]), m[2] or ""
        deployments, jobs = state["gl_deployments"], state["gl_jobs"]
        if method == "GET" and rest == "":
            doc = {"id": 1, "path_with_namespace": project, "default_branch": "main"}
            if state["gl_access_level"] is not None:
                doc["permissions"] = {"project_access": {"access_level": state["gl_access_level"]},
                                      "group_access": None}
            return self.reply(200, doc)
        if method == "GET" and rest == "/deployments":
            env, status = query.get("environment"), query.get("status")
            listed = [self.deployment(d, with_job=False) for d in deployments.values()
                      if d["environment"]["name"] == env and (status is None or d["status"] == status)]
            listed.sort(key=lambda d: d["id"], reverse=query.get("sort", "asc") == "desc")
            return self.reply(200, listed[: int(query.get("per_page", 20))])
        m = re.fullmatch(r"/deployments/(\d+)", rest)
        if m:
            d = deployments.get(int(m[1]))
            if d is None:
                return self.reply(404, {"message": "404 Not found"})
            if method == "PUT":
                d["status"] = body["status"]
                d["updated_at"] = now()
            return self.reply(200, self.deployment(d, with_job=True))
        m = re.fullmatch(r"/jobs/(\d+)(/play|/retry)?", rest)
        if m:
            job = jobs.get(int(m[1]))
            if job is None:
                return self.reply(404, {"message": "404 Job Not Found"})
            if method == "GET" and not m[2]:
                self.look_job(job)
                return self.reply(200, public(job))
            if method == "POST" and m[2] == "/play":
                if job["status"] != "manual":
                    return self.reply(400, {"message": "400 (Bad request) \"Unplayable Job\""})
                job.update(status="pending", _conclusion=conclusion("gitlab"), _looks=0,
                           _variables=(body or {}).get("job_variables_attributes"))
                return self.reply(200, public(job))
            if method == "POST" and m[2] == "/retry":
                if job["status"] not in ("success", "failed", "canceled"):
                    return self.reply(403, {"message": "403 Forbidden - Job is not retryable"})
                nid = new_id()
                new = dict(job, id=nid, status="pending", created_at=now(), artifacts=[],
                           web_url=f"{BASE}/{project}/-/jobs/{nid}", _conclusion=conclusion("gitlab"),
                           _looks=0, _retry_of=job["id"])
                new.pop("artifacts_expire_at", None)
                jobs[nid] = new
                return self.reply(201, public(new))
        if method == "POST" and rest == "/pipeline":
            pid = new_id()
            p = {"id": pid, "ref": body["ref"], "status": "created", "created_at": now(),
                 "web_url": f"{BASE}/{project}/-/pipelines/{pid}", "_conclusion": conclusion("gitlab"),
                 "_variables": body.get("variables", [])}
            state["gl_pipelines"].append(p)
            return self.reply(201, public(p))
        if method == "GET" and rest == "/pipelines":
            listed = [public(p) for p in reversed(state["gl_pipelines"])
                      if query.get("ref") in (None, p["ref"])]
            return self.reply(200, listed[: int(query.get("per_page", 20))])
        m = re.fullmatch(r"/pipelines/(\d+)(/variables)?", rest)
        if method == "GET" and m:
            p = next((p for p in state["gl_pipelines"] if p["id"] == int(m[1])), None)
            if p is None:
                return self.reply(404, {"message": "404 Not found"})
            if m[2]:
                return self.reply(200, [dict(v, variable_type=v.get("variable_type", "env_var"))
                                        for v in p["_variables"]])
            advance(p, lambda p: "running" if p["_conclusion"] == "hang" else p["_conclusion"], "running")
            return self.reply(200, public(p))
        m = re.fullmatch(r"/repository/(branches|tags)/(.+)", rest)
        if method == "GET" and m:
            name = unquote(m[2])
            if m[1] == "branches" and name == "main":
                return self.reply(200, {"name": "main", "protected": False,
                                        "developers_can_push": False, "developers_can_merge": False})
            if m[1] == "tags" and re.fullmatch(r"v\d+\.\d+\.\d+", name):
                return self.reply(200, {"name": name})
            return self.reply(404, {"message": "404 Not found"})
        return self.reply(404, {"message": "404 Not Found"})

    def look_job(self, job):
        if "_conclusion" in job:  # started by relman: moves on at each look
            advance(job, lambda j: "running" if j["_conclusion"] == "hang" else j["_conclusion"], "running")

    def deployment(self, d, with_job):
        out = public(d)
        job = state["gl_jobs"].get(d.get("_job"))
        if with_job and job is not None:
            out["deployable"] = {k: v for k, v in public(job).items() if k not in ("artifacts",)}
        return out


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()

    def orphaned():
        while os.getppid() == parent:
            time.sleep(1)
        stop()

    threading.Thread(target=orphaned, daemon=True).start()
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
