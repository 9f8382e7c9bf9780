#!/usr/bin/env python3
"""Back-test relman's next version against the versions a repository actually released.

Usage:
  bench/backtest.py REPO [--relman PATH] [--prefix v] [--config FILE [--package NAME]]
                         [--limit N] [--misses N]

For every stable release tag `<prefix>X.Y.Z` of REPO (several release tags on one commit: the
highest), asks relman what it would have released just before the tag was made:

  relman -C REPO changelog --next-version --format json --head TAG^

and compares the answer with the tag's version. `TAG^` is the tag's first parent: release
commits (`chore(release): …`, `release: v…`) have one parent, so it holds exactly the commits
that went into the release. A tag on a merge commit is still asked at its first parent (the
merged side is then missing from the question); such tags are counted in the summary.

Prints a summary (versions right / back-tested, bump levels right — major, minor or patch
measured from the previous release relman found —, tags left out and why) and the misses.
Tags whose commit has no parent, and tags with no earlier release reachable from `TAG^`
(nothing to bump from: the first version is a configuration choice) are left out.

RELMAN defaults to target/release/relman, else target/debug/relman. A relman too old for
`--format json` here is still measured: its version, and git describe's nearest tag as the
previous release. `--config FILE` passes a
.relman.yml (e.g. `changelog: {split_squash: true}`) to compare settings on the same history.
Needs git and Python 3.8+; reads REPO only (nothing is written to it).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", repo, *args], check=True, capture_output=True, text=True
    ).stdout


def core(version):
    m = SEMVER.match(version)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def level(prev, new):
    """major, minor or patch: the first component that moved from prev to new."""
    a, b = core(prev), core(new)
    if a is None or b is None:
        return "none"
    for name, x, y in zip(("major", "minor", "patch"), a, b):
        if x != y:
            return name
    return "none"


def release_tags(repo, prefix):
    """Stable release tags, one per commit (the highest), oldest version first."""
    out = git(
        repo,
        "for-each-ref",
        "refs/tags",
        "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(objecttype)%00%(*objecttype)",
    )
    per_commit = {}
    for line in out.splitlines():
        name, obj, peeled, kind, peeled_kind = line.split("\0")
        if not name.startswith(prefix):
            continue
        v = name[len(prefix):]
        m = SEMVER.match(v)
        if not m or m.group(4):
            continue
        commit = peeled if kind == "tag" else obj
        if (peeled_kind if kind == "tag" else kind) != "commit":
            continue
        key = core(v)
        if commit not in per_commit or key > core(per_commit[commit][1]):
            per_commit[commit] = (name, v)
    tags = [(name, v, c) for c, (name, v) in per_commit.items()]
    tags.sort(key=lambda t: core(t[1]))
    return tags


def default_relman():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for p in ("target/release/relman", "target/debug/relman"):
        if os.access(os.path.join(root, p), os.X_OK):
            return os.path.join(root, p)
    sys.exit("no relman binary: build one (cargo build --release) or pass --relman")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--relman", default=None)
    ap.add_argument("--prefix", default="v", help="release tag prefix (default v)")
    ap.add_argument("--config", default=None, help=".relman.yml to use")
    ap.add_argument("--package", default=None, help="a package of --config (monorepos)")
    ap.add_argument("--limit", type=int, default=0, help="only the newest N tags")
    ap.add_argument("--misses", type=int, default=50, help="misses to list (default 50)")
    args = ap.parse_args()
    relman = args.relman or default_relman()
    repo = os.path.abspath(args.repo)

    tags = release_tags(repo, args.prefix)
    if args.limit:
        tags = tags[-args.limit:]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "RELMAN_", "GIT_")) and k != "CI"
    }
    env["NO_COLOR"] = "1"
    results, roots, firsts, failures, merges = [], [], [], [], []
    started = time.monotonic()
    for name, version, commit in tags:
        parents = git(repo, "rev-list", "--parents", "-n1", commit).split()[1:]
        if not parents:
            roots.append(name)
            continue
        cmd = [relman, "-C", repo]
        if args.config:
            cmd += ["--config", os.path.abspath(args.config)]
        cmd += ["changelog", "--next-version", "--format", "json", "--head", f"{commit}^"]
        if args.package:
            cmd += ["--package", args.package]
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if run.returncode != 0:
            failures.append((name, run.returncode, run.stderr.strip().splitlines()[-1:]))
            continue
        try:
            nv = json.loads(run.stdout)
        except ValueError:
            # A relman from before `--next-version --format json` prints the version only:
            # take git's nearest tag as the previous release (close, not always the same).
            desc = subprocess.run(
                ["git", "-C", repo, "describe", "--tags", "--abbrev=0",
                 "--match", f"{args.prefix}[0-9]*", "--exclude", f"{args.prefix}*-*", f"{commit}^"],
                capture_output=True, text=True,
            )
            nv = {
                "version": run.stdout.strip() or None,
                "previous": desc.stdout.strip() or None,
                "bump": "?",
            }
        prev = nv.get("previous")
        if prev is None:
            firsts.append(name)
            continue
        prev_v = prev[len(args.prefix):] if prev.startswith(args.prefix) else prev
        predicted = nv.get("version")
        results.append(
            {
                "tag": name,
                "released": version,
                "predicted": predicted,
                "previous": prev,
                "bump": nv.get("bump"),
                "version_right": predicted == version,
                "level_right": predicted is not None
                and level(prev_v, predicted) == level(prev_v, version),
                "merge": len(parents) > 1,
            }
        )
        if len(parents) > 1:
            merges.append(name)
    elapsed = time.monotonic() - started

    n = len(results)
    right = sum(r["version_right"] for r in results)
    level_right = sum(r["level_right"] for r in results)
    head = git(repo, "rev-parse", "--short", "HEAD").strip()
    pct = lambda x: f"{100 * x / n:.1f} %" if n else "-"
    print(f"repository     {repo} (HEAD {head})")
    print(
        f"relman         {relman}"
        + (f" --config {args.config}" if args.config else "")
        + (f" --package {args.package}" if args.package else "")
    )
    print(
        f"release tags   {len(tags)} stable `{args.prefix}X.Y.Z` (one per commit); "
        f"back-tested {n}; left out: {len(firsts)} with no earlier release, "
        f"{len(roots)} on a root commit, {len(failures)} relman errors"
    )
    print(f"version right  {right}/{n} ({pct(right)})")
    print(f"bump right     {level_right}/{n} ({pct(level_right)})")
    print(f"on merges      {len(merges)} (asked at the first parent)")
    print(f"time           {elapsed:.1f} s for {n + len(firsts) + len(failures)} runs")
    misses = [r for r in results if not r["version_right"]]
    if misses:
        print(f"misses ({len(misses)}{', first ' + str(args.misses) if len(misses) > args.misses else ''}):")
        for r in misses[: args.misses]:
            print(
                f"  {r['tag']:<14} released {r['released']:<10} predicted "
                f"{r['predicted'] or '(nothing)':<10} {r['bump']:<5} since {r['previous']}"
                f"{'  [merge]' if r['merge'] else ''}"
                f"{'' if r['level_right'] else '  [bump level wrong]'}"
            )
    for name, code, err in failures:
        print(f"  {name}: relman exit {code}: {' '.join(err)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
