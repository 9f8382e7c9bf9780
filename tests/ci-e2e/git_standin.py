"""A forge's git server on 127.0.0.1: smart HTTP (`git http-backend`) over bare repositories,
answering only requests that carry the job token, the way github.com answers a private repository.

Usage: git_standin.py PORT ROOT CRED LOG [READ_CRED]
  ROOT   folder of bare repositories (`http://127.0.0.1:PORT/acme/shop.git` is ROOT/acme/shop.git)
  CRED   the one credential accepted, `user:token` sent as HTTP basic: `x-access-token:<token>`
         is what relman sends on GitHub Actions (after `actions/checkout` with
         `persist-credentials: false`), `gitlab-ci-token:<CI_JOB_TOKEN>` on GitLab CI
  LOG    one JSON line per request: method, path, service, auth (ok, read, missing or wrong),
         how many Authorization headers came, status
  READ_CRED  a credential that may fetch but not push (403), as a fork's pull request token

Why a real server: with a `file://` remote the token is never used, so the e2e run could not tell
whether relman hands it to git at all. Here a fetch or push without it is refused (401).
"""
import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PORT, ROOT, CRED, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
READ_CRED = sys.argv[5] if len(sys.argv) > 5 else None
USER = CRED.split(":", 1)[0]


def authorized(value):
    """`ok` for HTTP basic CRED, `read` for READ_CRED, else `wrong` (the scheme is
    case-insensitive, RFC 7235)."""
    scheme, _, cred = value.strip().partition(" ")
    try:
        given = base64.b64decode(cred.strip(), validate=True) if scheme.lower() == "basic" else None
    except ValueError:
        given = None
    if given == CRED.encode():
        return "ok"
    if READ_CRED is not None and given == READ_CRED.encode():
        return "read"
    return "wrong"


lock = threading.Lock()


def log(entry):
    with lock, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the JSON log is the record; keep stderr quiet
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle_git(self):
        url = urlsplit(self.path)
        if url.path == "/_ready":  # the start-up probe, not a git request
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        given = self.headers.get("Authorization")
        auth = "missing" if given is None else authorized(given)
        service = next((p.split("=", 1)[1] for p in url.query.split("&") if p.startswith("service=")),
                       url.path.rsplit("/", 1)[-1])
        data = self.body() if self.command == "POST" else b""
        entry = {"method": self.command, "path": url.path, "service": service, "auth": auth,
                 "auth_headers": len(self.headers.get_all("Authorization") or [])}
        if auth == "read" and service == "git-receive-pack":
            # What github.com answers a token without contents: write.
            body = b"Permission to acme/shop.git denied to github-actions[bot].\n"
            entry["status"] = 403
            log(entry)
            self.send_response(403)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if auth not in ("ok", "read"):
            entry["status"] = 401
            log(entry)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git stand-in"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {"GIT_PROJECT_ROOT": ROOT, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": url.path,
               "QUERY_STRING": url.query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(data)), "REMOTE_USER": USER,
               "REMOTE_ADDR": "127.0.0.1", "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
               "PATH": "/usr/local/bin:/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": ROOT}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=data, env=env, capture_output=True,
                              timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            if not line:
                continue
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))
        entry["status"] = status
        log(entry)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_git
    do_POST = handle_git


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
