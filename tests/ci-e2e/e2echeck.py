"""What the e2e checkers share: reading act's JSON log and counting checks.

Each checker prints one `ok   …` or `FAIL …` line per check (run.sh counts them) and exits
non-zero when any failed.
"""
import json
import sys


def act_log(path):
    """The JSON entries of an `act --json` log, skipping its non-JSON lines."""
    entries = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return entries


class Checks:
    """`check(name, cond, detail)` prints one line under `prefix`; `done()` exits."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.failed = 0

    def __call__(self, name, cond, detail=""):
        print(f"{'ok  ' if cond else 'FAIL'} {self.prefix}: {name}" + ("" if cond else f" -- {detail}"))
        if not cond:
            self.failed += 1

    def done(self):
        sys.exit(1 if self.failed else 0)


# Workflow commands a runner would act on ('ignored' is act's word for one seen while stopped).
ACTIVE = {"error", "warning", "notice", "debug", "add-mask", "set-env", "add-path", "group",
          "endgroup", "echo", "save-state", "add-matcher", "remove-matcher", "set-output"}


def unescape(s, props):
    s = s.replace("%0D", "\r").replace("%0A", "\n")
    if props:
        s = s.replace("%3A", ":").replace("%2C", ",")
    return s.replace("%25", "%")


def parse(raw):
    """A workflow command line read as the GitHub runner reads it (ActionCommand.TryParseV2):
    the properties end at the first `::` after the command. act's parser ends them at the last
    one, so a message holding `::` loses its properties in act's kvPairs; `raw` is exact."""
    body = raw.rstrip("\r\n")[2:]
    head, _, data = body.partition("::")
    command, _, props = head.partition(" ")
    kv = {}
    for p in filter(None, props.split(",")):
        k, _, v = p.partition("=")
        kv[k] = unescape(v, True)
    return command, kv, unescape(data, False)
