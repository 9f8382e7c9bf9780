#!/usr/bin/env python3
"""A stateful stand-in for the GitHub and GitLab release endpoints relman's backends call.

    standin.py PORT LOG

Listens on 127.0.0.1:PORT. Every request is appended to LOG (JSON lines: method, path, which
auth header came and with which scheme, the JSON body, the status answered). Releases live in
memory, keyed by (forge, project, tag); `GET /_state` (not logged) returns them all.

GitHub (REST under /, GraphQL at /graphql): `Authorization: Bearer …` or `token …` is required.
  GET   /repos/{o}/{r}/releases/tags/{tag}     200, or 404 when absent (drafts are not found)
  GET   /repos/{o}/{r}/releases?per_page=N     list, newest first (where drafts are)
  POST  /repos/{o}/{r}/releases                201; 422 already_exists when the tag has one
  PATCH /repos/{o}/{r}/releases/{id}           200
  POST  /graphql                               the commits' associated pull requests: none
GitLab (under /api/v4): `JOB-TOKEN` or `PRIVATE-TOKEN` is required.
  GET  /projects/{id}/releases/{tag}           200, or 404
  POST /projects/{id}/releases                 201; 409 when the tag has one
  PUT  /projects/{id}/releases/{tag}           200
  GET  /projects/{id}/repository/commits/{sha} a minimal commit
  GET  /projects/{id}/merge_requests[/{iid}/commits]   empty lists
Anything else is 404 (and logged, so a test sees it). Exits on SIGTERM/SIGINT, or when its parent
goes away.
"""

import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

PORT = int(sys.argv[1])
LOG = sys.argv[2]
BASE = f"http://127.0.0.1:{PORT}"
lock = threading.Lock()
releases = {}  # (forge, project, tag) -> release as the forge shows it
next_id = [1000]


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):  # quiet: the JSONL log is the record
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        url = urlsplit(self.path)
        if url.path == "/_state":
            with lock:
                self.reply(200, [dict(r, _key=list(k)) for k, r in releases.items()])
            return
        gitlab = url.path.startswith("/api/v4/")
        auth = self.headers.get("Authorization") or ""
        scheme = auth.split(" ", 1)[0] if auth else None
        if gitlab:
            header = next((h for h in ("JOB-TOKEN", "PRIVATE-TOKEN") if self.headers.get(h)), None)
            authed = header is not None
        else:
            header = "Authorization" if auth else None
            authed = scheme in ("Bearer", "token") and len(auth.split(" ", 1)[-1]) > 0
        with lock:
            if not authed:
                status = self.reply(401, {"message": "401 Unauthorized" if gitlab else "Requires authentication"})
            elif gitlab:
                status = self.gitlab(method, url, body)
            else:
                status = self.github(method, url, body)
            entry = {
                "method": method,
                "path": self.path,
                "forge": "gitlab" if gitlab else "github",
                "auth": authed,
                "auth_header": header,
                "auth_scheme": scheme,
                "body": body,
                "status": status,
            }
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    # --- GitHub ---------------------------------------------------------------------------------

    def github(self, method, url, body):
        path = url.path
        if method == "POST" and path == "/graphql":
            query = (body or {}).get("query", "") if isinstance(body, dict) else ""
            aliases = re.findall(r"\b(c\d+): object\(", query)
            repo = {a: {"associatedPullRequests": {"nodes": []}} for a in aliases}
            return self.reply(200, {"data": {"repository": repo}})
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/releases(/.*)?", path)
        if not m:
            return self.reply(404, {"message": "Not Found"})
        project, rest = f"{m[1]}/{m[2]}", m[3] or ""
        mine = {k[2]: r for k, r in releases.items() if k[:2] == ("github", project)}
        if method == "GET" and rest.startswith("/tags/"):
            r = mine.get(unquote(rest[len("/tags/"):]))
            if r is None or r["draft"]:
                return self.reply(404, {"message": "Not Found"})
            return self.reply(200, r)
        if method == "GET" and rest == "":
            listed = sorted(mine.values(), key=lambda r: r["id"], reverse=True)
            return self.reply(200, listed)
        if method == "POST" and rest == "":
            tag = body["tag_name"]
            if tag in mine:
                return self.reply(422, {"message": "Validation Failed",
                                        "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]})
            next_id[0] += 1
            rid = next_id[0]
            r = {
                "id": rid,
                "url": f"{BASE}/repos/{project}/releases/{rid}",
                "html_url": f"{BASE}/{project}/releases/tag/{tag}",
                "tag_name": tag,
                "target_commitish": body.get("target_commitish") or "main",
                "name": body.get("name"),
                "body": body.get("body"),
                "draft": bool(body.get("draft", False)),
                "prerelease": bool(body.get("prerelease", False)),
                "created_at": now(),
                "published_at": None if body.get("draft") else now(),
                "author": {"login": "relman-bot"},
                "assets": [],
            }
            releases[("github", project, tag)] = r
            return self.reply(201, r)
        m = re.fullmatch(r"/(\d+)", rest)
        if method == "PATCH" and m:
            r = next((r for r in mine.values() if r["id"] == int(m[1])), None)
            if r is None:
                return self.reply(404, {"message": "Not Found"})
            for k in ("tag_name", "target_commitish", "name", "body", "draft", "prerelease"):
                if k in body:
                    r[k] = body[k]
            if not r["draft"] and r["published_at"] is None:
                r["published_at"] = now()
            return self.reply(200, r)
        return self.reply(404, {"message": "Not Found"})

    # --- GitLab ---------------------------------------------------------------------------------

    def gitlab(self, method, url, body):
        m = re.fullmatch(r"/api/v4/projects/([^/]+)(/.*)?", url.path)
        if not m:
            return self.reply(404, {"message": "404 Not Found"})
        project, rest = unquote(m[1]), m[2] or ""
        if method == "GET" and rest.startswith("/repository/commits/"):
            sha = unquote(rest[len("/repository/commits/"):])
            return self.reply(200, {"id": sha, "short_id": sha[:8], "title": "commit",
                                    "committed_date": "2024-01-01T00:00:00Z"})
        if method == "GET" and re.fullmatch(r"/merge_requests(/\d+/commits)?", rest):
            return self.reply(200, [])
        key = lambda tag: ("gitlab", project, tag)  # noqa: E731
        if method == "POST" and rest == "/releases":
            tag = body["tag_name"]
            if key(tag) in releases:
                return self.reply(409, {"message": "Release already exists"})
            r = {
                "tag_name": tag,
                "name": body.get("name"),
                "description": body.get("description"),
                "created_at": now(),
                "released_at": now(),
                "commit": {"id": body.get("ref") or "0" * 40},
                "_links": {"self": f"{BASE}/{project}/-/releases/{tag}"},
            }
            releases[key(tag)] = r
            return self.reply(201, r)
        m = re.fullmatch(r"/releases/([^/]+)", rest)
        if m:
            r = releases.get(key(unquote(m[1])))
            if r is None:
                return self.reply(404, {"message": "404 Not Found"})
            if method == "GET":
                return self.reply(200, r)
            if method == "PUT":
                for k in ("name", "description", "released_at"):
                    if k in body:
                        r[k] = body[k]
                return self.reply(200, r)
        return self.reply(404, {"message": "404 Not Found"})


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
