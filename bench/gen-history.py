#!/usr/bin/env python3
"""Generate a deterministic synthetic git history for benchmarking relman.

Usage:
    bench/gen-history.py --commits N --out DIR [--seed 42] [--repack] [--force]

Builds DIR as a fresh git repository (branch `main`) by streaming N commits
into `git fast-import`. The same --commits/--seed always give the same repo,
down to the commit ids (fixed authors, emails and timestamps: commit i is
dated 1_600_000_000 + 60*i, timezone +0000).

What the history looks like:
  * conventional commit subjects: ~35% feat, 30% fix, 5% perf, 8% docs,
    8% chore, 4% refactor, 3% test, 2% ci, 5% non-conventional ("WIP",
    "Update README.md", "Merge branch ..."), scopes from api/web/cli/core/
    db/auth/ui/deps on ~60%, bodies on ~40%, "(#1234)" PR suffixes on ~50%,
    some Co-authored-by footers, ~1% squash-merge bodies ("* feat: ...").
  * ~2% breaking changes (`!` or a `BREAKING CHANGE:` footer). They only occur
    in the windows that end in a major release (about 1 release in 8), and
    in the unreleased tail, so the tags follow the commit types (see below).
  * a small monorepo tree (services/api, services/web, libs/core, docs,
    infra, root files); every commit modifies 1-3 files; ~15% of commits
    touch services/api/.
  * a semver tag every 150-250 commits (`v0.1.0`, ...), alternating annotated
    and lightweight. The bump follows the window's commits: a window with a
    breaking change ends in a major bump, one with a feat in a minor bump,
    otherwise patch (about 20% of the windows are fix-only).
  * `api-vX.Y.Z` tags on the last commit touching services/api, about every
    1000 commits (bump from the api commits since the previous api tag).
  * exactly 200 commits after the last `v` tag (when N > ~550).

Storage: fast-import's pack is kept, a commit-graph is written, gc.auto is
disabled and the work tree is checked out. --repack adds `git repack -adf
--depth=50 --window=10`; it is not worth it: measured at 1M commits (2 cores)
it takes 74 s and 2.1 GB of RSS and grows .git from 575 to 663 MB, since
fast-import already deltas each file against its previous version.
Measured generation (2-core EPYC): 10k commits 1 s / 7 MB, 100k 5 s / 59 MB,
1M 65 s / 575 MB (.git incl. a 60 MB commit-graph).

Prints the time taken and the size of the repository.
Stdlib only (Python >= 3.9).
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

START_TS = 1_600_000_000
STEP_S = 60
TAIL = 200  # commits after the last `v` tag

AUTHORS = [
    ("Alice Martin", "alice@example.com"),
    ("Bob Nguyen", "bob@example.com"),
    ("Carla Rossi", "carla.rossi@example.org"),
    ("Dmitri Ivanov", "dmitri@example.net"),
    ("Emma Schmidt", "emma.schmidt@example.com"),
    ("Farid Haddad", "farid@example.org"),
    ("Grace Kim", "grace.kim@example.com"),
    ("Hugo Lefebvre", "hugo@example.fr"),
    ("Ines Costa", "ines.costa@example.pt"),
    ("Jonas Berg", "jonas@example.se"),
    ("Keiko Tanaka", "keiko@example.jp"),
    ("Liam O'Brien", "liam.obrien@example.ie"),
    ("Maya Patel", "maya.patel@example.com"),
    ("Noah Fischer", "noah@example.de"),
    ("Olga Kowalska", "olga.k@example.pl"),
    ("Pablo Garcia", "pablo@example.es"),
    ("Quinn Taylor", "quinn@example.com"),
    ("Rosa Silva", "rosa.silva@example.br"),
    ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    ("ci-bot", "ci-bot@example.com"),
]

# (type, weight in percent); "nc" = non-conventional. Fix-only windows (20%
# of the releases) use PATCH_TYPES, the others TYPES, so that the whole
# history has ~35% feat, 30% fix, 5% perf, 8% docs, 8% chore, 4% refactor,
# 3% test, 2% ci and 5% non-conventional subjects.
TYPES = [
    ("feat", 43.75), ("fix", 27.5), ("perf", 4.25), ("docs", 6.25),
    ("chore", 6.25), ("refactor", 3), ("test", 2.5), ("ci", 1.75), ("nc", 4.75),
]
PATCH_TYPES = [
    ("fix", 40), ("perf", 8), ("docs", 15), ("chore", 15), ("refactor", 8),
    ("test", 5), ("ci", 3), ("nc", 6),
]

# area -> (files, scopes used for commits in that area)
AREAS = {
    "api": (["services/api/src/main.rs", "services/api/src/routes.rs",
             "services/api/src/handlers.rs", "services/api/Cargo.toml",
             "services/api/README.md"], ["api"]),
    "web": (["services/web/src/app.ts", "services/web/src/index.ts",
             "services/web/src/components.tsx", "services/web/package.json"],
            ["web", "ui"]),
    "core": (["libs/core/src/lib.rs", "libs/core/src/db.rs",
              "libs/core/src/auth.rs", "libs/core/src/cli.rs",
              "libs/core/Cargo.toml"], ["core", "db", "auth", "cli"]),
    "docs": (["docs/index.md", "docs/guide.md", "docs/api.md",
              "docs/changelog-policy.md"], []),
    "infra": (["infra/main.tf", "infra/docker-compose.yml",
               "infra/ci.yml", "infra/Dockerfile"], ["deps"]),
    "root": (["README.md", "Cargo.toml", "package.json"], ["deps"]),
}
NON_API_AREAS = ["web", "core", "docs", "infra", "root"]
NON_API_WEIGHTS = [30, 40, 10, 12, 8]
ALL_FILES = [f for files, _ in AREAS.values() for f in files]
API_FILES = AREAS["api"][0]
OTHER_FILES = [f for f in ALL_FILES if f not in API_FILES]

VERBS = {
    "feat": ["add", "support", "introduce", "implement", "allow", "expose", "enable"],
    "fix": ["fix", "handle", "correct", "prevent", "avoid", "guard against", "repair"],
    "perf": ["speed up", "cache", "avoid allocating in", "parallelize", "optimize"],
    "docs": ["document", "clarify", "explain", "fix typos in", "update docs for"],
    "chore": ["bump", "update", "clean up", "rename", "drop unused"],
    "refactor": ["extract", "simplify", "split", "restructure", "inline"],
    "test": ["add tests for", "cover", "fix flaky test in", "add regression test for"],
    "ci": ["run", "cache", "split", "speed up", "pin"],
}
OBJECTS = [
    "pagination", "rate limiting", "the login flow", "session refresh",
    "user search", "CSV export", "webhook retries", "the health endpoint",
    "token expiry", "config loading", "dark mode", "the settings page",
    "database migrations", "connection pooling", "error messages",
    "request tracing", "the metrics endpoint", "file uploads",
    "OAuth callbacks", "audit logging", "the CLI parser", "shell completions",
    "timezone handling", "unicode usernames", "empty payloads",
    "concurrent writes", "the cache layer", "retry backoff", "feature flags",
    "password reset", "email templates", "the dashboard", "API keys",
    "bulk import", "soft deletes", "query planning", "the build script",
    "lockfile", "serde dependency", "tokio", "eslint config", "the release job",
]
CI_OBJECTS = ["clippy on nightly", "the test matrix", "cargo registry",
              "integration tests", "actions/checkout to v4", "docker builds"]
DEPS = ["serde", "tokio", "clap", "regex", "react", "typescript", "axum",
        "sqlx", "vite", "hyper", "tracing", "anyhow"]
NONCONV = [
    "Update README.md", "WIP", "wip", "Fix typo", "Merge branch 'main' into feature",
    "Merge pull request #{pr} from org/feature-{pr}", "Initial draft of {obj}",
    "Bump version", "Revert \"{obj}\"", "Apply suggestions from code review",
    "More fixes", "oops", "Address review comments", "Update {path}",
]
WORDS = ("the a this that we now when with without for from into so it "
         "request response handler cache config user token session error "
         "value field path query client server build release retry timeout "
         "limit order page item list map key index batch worker queue event "
         "should must can returns keeps avoids uses needs breaks expects "
         "previously correctly properly silently always never again later "
         "because otherwise since before after during while until").split()


def pick_type(rng, table=TYPES):
    r = rng.random() * 100
    acc = 0
    for t, w in table:
        acc += w
        if r < acc:
            return t
    return "nc"


def words(rng, lo, hi):
    n = rng.randint(lo, hi)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def subject_text(rng, typ):
    if typ == "chore" and rng.random() < 0.4:
        dep = rng.choice(DEPS)
        a, b = rng.randint(0, 9), rng.randint(0, 30)
        return f"bump {dep} from {a}.{b}.0 to {a}.{b + 1}.0"
    if typ == "ci":
        return f"{rng.choice(VERBS['ci'])} {rng.choice(CI_OBJECTS)}"
    return f"{rng.choice(VERBS[typ])} {rng.choice(OBJECTS)}"


class Gen:
    def __init__(self, n, seed):
        self.n = n
        self.rng = random.Random(seed)
        self.file_rev = {f: 0 for f in ALL_FILES}
        self.pr = 1000
        # release plan
        self.ver = None  # (major, minor, patch) of last v tag
        self.tag_count = 0
        self.next_tag_at = None  # index of the commit that gets the next v tag
        self.win_kind = None
        self.win_breaking = False
        self.win_feat = False
        # api package
        self.api_ver = None
        self.last_api_commit = -1
        self.last_api_tagged = -1
        self.api_breaking = False
        self.api_feat = False
        self.next_api_tag_at = 0
        self.stats = {"tags": 0, "api_tags": 0, "breaking": 0, "api": 0}

    # ---- plan ------------------------------------------------------------
    def plan_window(self, start):
        """Decide where the next v tag goes and what kind of release it is."""
        rng = self.rng
        w = rng.randint(150, 250)
        if start + w + TAIL + 150 <= self.n:
            self.next_tag_at = start + w - 1
        elif self.n - TAIL - start >= 1:
            self.next_tag_at = self.n - TAIL - 1  # last tag: leave TAIL commits
        else:
            self.next_tag_at = None  # unreleased tail
        r = rng.random()
        if self.next_tag_at is None:
            self.win_kind = "tail"
        elif r < 0.125:
            self.win_kind = "major"
        elif r < 0.325:
            self.win_kind = "patch"
        else:
            self.win_kind = "minor"
        self.win_breaking = False
        self.win_feat = False

    # ---- one commit --------------------------------------------------------
    def message(self, i, typ, area, breaking):
        rng = self.rng
        pr = None
        if rng.random() < 0.5:
            self.pr += rng.randint(1, 3)
            pr = self.pr
        if typ == "nc":
            tpl = rng.choice(NONCONV)
            subj = tpl.format(pr=self.pr + 7, obj=rng.choice(OBJECTS),
                              path=rng.choice(ALL_FILES))
        else:
            scopes = AREAS[area][1]
            scope = ""
            if scopes and rng.random() < 0.6:
                scope = f"({rng.choice(scopes)})"
            bang = "!" if breaking and rng.random() < 0.5 else ""
            subj = f"{typ}{scope}{bang}: {subject_text(rng, typ)}"
            footer_breaking = breaking and not bang
        if pr is not None:
            subj += f" (#{pr})"
        parts = [subj]
        if typ != "nc" and rng.random() < 0.01:
            # squash merge of a PR
            lines = []
            for _ in range(rng.randint(2, 6)):
                t = pick_type(rng)
                if t == "nc":
                    t = "fix"
                if self.win_kind == "patch" and t == "feat":
                    t = "fix"
                lines.append(f"* {t}: {subject_text(rng, t)}")
            parts.append("\n".join(lines))
        elif rng.random() < 0.4:
            body = "\n".join(words(rng, 5, 12).capitalize() + "."
                             for _ in range(rng.randint(1, 4)))
            parts.append(body)
        footers = []
        if typ != "nc" and footer_breaking:
            footers.append(f"BREAKING CHANGE: {rng.choice(OBJECTS)} "
                           f"{words(rng, 3, 8)}")
        if rng.random() < 0.06:
            name, email = AUTHORS[rng.randrange(18)]
            footers.append(f"Co-authored-by: {name} <{email}>")
        if rng.random() < 0.05:
            footers.append(f"Refs: #{rng.randint(100, self.pr)}")
        if footers:
            parts.append("\n".join(footers))
        return "\n\n".join(parts) + "\n"

    def commit(self, i, out):
        rng = self.rng
        if i == 0:
            return self.initial(out)
        kind = self.win_kind
        typ = pick_type(rng, PATCH_TYPES if kind == "patch" else TYPES)
        breaking = False
        if typ in ("feat", "fix", "refactor", "perf"):
            if kind == "major":
                breaking = rng.random() < 0.16
            elif kind == "tail":
                breaking = rng.random() < 0.03
        if kind == "major" and i == self.next_tag_at and not self.win_breaking:
            typ, breaking = "feat", True  # a major window has >=1 breaking commit
        touch_api = rng.random() < 0.15
        if touch_api:
            area = "api"
        elif typ == "docs":
            area = "docs"
        elif typ == "ci":
            area = "infra"
        else:
            area = rng.choices(NON_API_AREAS, NON_API_WEIGHTS)[0]
        area_files = AREAS[area][0]
        nfiles = rng.choice((1, 1, 1, 2, 2, 3))
        files = [rng.choice(area_files)]
        for _ in range(nfiles - 1):
            f = rng.choice(area_files if rng.random() < 0.6 else OTHER_FILES)
            if f not in files:
                files.append(f)
        msg = self.message(i, typ, area, breaking)
        name, email = AUTHORS[rng.randrange(len(AUTHORS))]
        ts = START_TS + STEP_S * i
        # stats / release bookkeeping
        if breaking:
            self.win_breaking = True
            self.stats["breaking"] += 1
        if typ == "feat":
            self.win_feat = True
        if touch_api:
            self.stats["api"] += 1
            self.last_api_commit = i
            self.api_breaking |= breaking
            self.api_feat |= typ == "feat"
        self.emit_commit(out, i, name, email, ts, msg, files)

    def emit_commit(self, out, i, name, email, ts, msg, files):
        out.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"author {name} <{email}> {ts} +0000\n"
            f"committer {name} <{email}> {ts} +0000\n"
            f"data {len(msg)}\n{msg}"
        )
        for f in files:
            rev = self.file_rev[f] = self.file_rev[f] + 1
            content = self.content(f, rev)
            out.append(f"M 644 inline {f}\ndata {len(content)}\n{content}")
        out.append("\n")

    @staticmethod
    def content(path, rev):
        # Small, and cycling so identical blobs are shared (keeps the pack
        # small); consecutive revisions of a file always differ.
        r = rev % 509
        return (f"// {path}\n// generated by bench/gen-history.py\n"
                f"revision = {r}\nchecksum = {(r * 2654435761) % 1000003}\n")

    def initial(self, out):
        msg = "chore: initial commit\n"
        self.emit_commit(out, 0, AUTHORS[0][0], AUTHORS[0][1], START_TS, msg,
                         ALL_FILES)

    # ---- tags --------------------------------------------------------------
    def maybe_tags(self, i, out):
        ts = START_TS + STEP_S * i
        if i == self.next_tag_at:
            if self.ver is None:
                self.ver = (0, 1, 0)
            else:
                M, m, p = self.ver
                if self.win_breaking:
                    self.ver = (M + 1, 0, 0)
                elif self.win_feat:
                    self.ver = (M, m + 1, 0)
                else:
                    self.ver = (M, m, p + 1)
            name = "v%d.%d.%d" % self.ver
            self.emit_tag(out, name, i, ts, annotated=self.tag_count % 2 == 0)
            self.tag_count += 1
            self.stats["tags"] += 1
            self.plan_window(i + 1)
        if i >= self.next_api_tag_at:
            if self.last_api_commit > self.last_api_tagged:
                if self.api_ver is None:
                    self.api_ver = (0, 1, 0)
                else:
                    M, m, p = self.api_ver
                    if self.api_breaking:
                        self.api_ver = (M + 1, 0, 0)
                    elif self.api_feat:
                        self.api_ver = (M, m + 1, 0)
                    else:
                        self.api_ver = (M, m, p + 1)
                name = "api-v%d.%d.%d" % self.api_ver
                self.emit_tag(out, name, self.last_api_commit, ts,
                              annotated=self.stats["api_tags"] % 2 == 0)
                self.stats["api_tags"] += 1
                self.last_api_tagged = self.last_api_commit
                self.api_breaking = self.api_feat = False
            self.next_api_tag_at = i + self.rng.randint(800, 1200)

    @staticmethod
    def emit_tag(out, name, idx, ts, annotated):
        if annotated:
            msg = f"Release {name}\n"
            out.append(
                f"tag {name}\nfrom :{idx + 1}\n"
                f"tagger Release Bot <release-bot@example.com> {ts} +0000\n"
                f"data {len(msg)}\n{msg}\n"
            )
        else:
            out.append(f"reset refs/tags/{name}\nfrom :{idx + 1}\n\n")

    # ---- driver ------------------------------------------------------------
    def stream(self, sink, chunk=2000):
        self.plan_window(0)
        self.next_api_tag_at = self.rng.randint(800, 1200)
        out = ["feature done\n"]
        for i in range(self.n):
            self.commit(i, out)
            self.maybe_tags(i, out)
            if i % chunk == chunk - 1:
                sink.write("".join(out).encode("ascii"))
                out = []
        out.append("done\n")
        sink.write("".join(out).encode("ascii"))


def run(cmd, cwd, **kw):
    return subprocess.run(cmd, cwd=cwd, check=True, **kw)


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repack", action="store_true",
                    help="git repack -adf --depth=50 --window=10 (slow at 1M)")
    ap.add_argument("--force", action="store_true",
                    help="delete --out first if it exists")
    args = ap.parse_args()
    if args.commits < 1:
        ap.error("--commits must be >= 1")
    if os.path.exists(args.out):
        if not args.force and os.listdir(args.out):
            ap.error(f"{args.out} exists and is not empty (use --force)")
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    out = os.path.abspath(args.out)

    t0 = time.monotonic()
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    run(["git", "init", "-q", "-b", "main", out], cwd=out, env=env)
    for k, v in [("gc.auto", "0"), ("core.commitGraph", "true"),
                 ("fetch.writeCommitGraph", "false"), ("user.name", "bench"),
                 ("user.email", "bench@example.com")]:
        run(["git", "config", k, v], cwd=out, env=env)
    fi = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=out, stdin=subprocess.PIPE, env=env, bufsize=1 << 20,
    )
    gen = Gen(args.commits, args.seed)
    try:
        gen.stream(fi.stdin)
        fi.stdin.close()
    except BrokenPipeError:
        pass
    if fi.wait() != 0:
        sys.exit(f"git fast-import failed with status {fi.returncode}")
    t1 = time.monotonic()
    print(f"fast-import: {args.commits} commits, {gen.stats['tags']} v tags, "
          f"{gen.stats['api_tags']} api tags, {gen.stats['breaking']} breaking, "
          f"{gen.stats['api']} touching services/api: {t1 - t0:.1f} s",
          flush=True)
    if args.repack:
        run(["git", "repack", "-adfq", "--depth=50", "--window=10"],
            cwd=out, env=env)
        t2 = time.monotonic()
        print(f"repack: {t2 - t1:.1f} s", flush=True)
        t1 = t2
    run(["git", "commit-graph", "write", "--reachable", "--no-progress"],
        cwd=out, env=env)
    # fast-import leaves one loose file per tag; a clone or `git gc` packs them (with peeled
    # ids), which is what CI checkouts have.
    run(["git", "pack-refs", "--all"], cwd=out, env=env)
    t2 = time.monotonic()
    print(f"commit-graph: {t2 - t1:.1f} s", flush=True)
    run(["git", "reset", "--hard", "-q"], cwd=out, env=env)
    t3 = time.monotonic()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=out, env=env,
                          check=True, capture_output=True, text=True).stdout.strip()
    size = dir_size(os.path.join(out, ".git"))
    print(f"done: {out} HEAD={head} total {t3 - t0:.1f} s, "
          f".git {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
