#!/usr/bin/env python3
"""A forge API stand-in whose every answer is an error whose body attacks the runner.

    hostile_api.py PORT LOG

Listens on 127.0.0.1:PORT and answers every request 422 with GitHub's error shape, the
`message` and each `errors[].message` holding lines that would be workflow commands if printed
raw (the same attack as fixture/make-hostile-repo.sh). Each request is appended to LOG as a
JSON line (method, path, whether a token came), so run.sh can tell the API was reached.
Exits on SIGTERM/SIGINT.
"""

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2]
HOSTILE = ("x\n::set-output name=pwned::yes\n::add-mask::MASKME\n::error title=FORGED::forged\n"
           "##[warning]forged-old\n::set-env name=PWNED::1\n::stop-commands::resume\n"
           "::warning::forged-after-resume %0A::notice::forged-encoded")
BODY = json.dumps({
    "message": "api " + HOSTILE,
    "errors": [{"resource": "Release", "code": "custom", "message": "field " + HOSTILE}],
    "documentation_url": "https://docs.github.com/rest",
}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "token": bool(self.headers.get("authorization"))}) + "\n")
        self.send_response(422)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = answer


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
