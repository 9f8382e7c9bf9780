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
