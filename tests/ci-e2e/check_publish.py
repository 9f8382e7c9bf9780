#!/usr/bin/env python3
"""Checks what a publish run did to tests/ci-e2e/standin.py, from its request log and state.

    check_publish.py github|gitlab LOG STATE OUT

LOG: the stand-in's JSON lines; STATE: its `GET /_state` answer; OUT: the folder the workflow or
pipeline wrote its outputs to (github: notes-a, notes-b, url-a, url-b, url-c; gitlab: gl-notes,
gl-url). Prints one `ok   …` or `FAIL …` line per check (run.sh counts them).
"""

import json
import pathlib
import re
import sys

forge, log_path, state_path, out = sys.argv[1], sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])
failed = False


def check(name, cond, detail=""):
    global failed
    if cond:
        print(f"ok   publish {forge}: {name}")
    else:
        failed = True
        print(f"FAIL publish {forge}: {name}" + (f" ({detail})" if detail else ""))


def read(name):
    p = out / name
    return p.read_text(encoding="utf-8") if p.exists() else None


reqs = [json.loads(line) for line in open(log_path, encoding="utf-8") if line.strip()]
reqs = [r for r in reqs if r["forge"] == forge]
state = [r for r in json.load(open(state_path, encoding="utf-8")) if r["_key"][0] == forge]
shown = lambda rs: "; ".join(f"{r['method']} {r['path']} {r['status']}" for r in rs)  # noqa: E731

check("the stand-in was called", len(reqs) > 0, "no request")
if forge == "github":
    check("every request carried the token (Authorization: Bearer/token)",
          reqs and all(r["auth"] and r["auth_scheme"] in ("Bearer", "token") for r in reqs),
          shown([r for r in reqs if not r["auth"]]))
    # 404 is an answer only for a release looked up by tag; anything else is an unknown route.
    odd = [r for r in reqs if r["status"] >= 400
           and not (r["status"] == 404 and r["method"] == "GET" and "/releases/tags/" in r["path"])]
    check("every request hit a known endpoint (releases, GraphQL)", not odd, shown(odd))
    gql = [r for r in reqs if r["path"] == "/graphql"]
    check("enrichment asked GraphQL once per run (3 runs)", len(gql) == 3 and all(r["status"] == 200 for r in gql),
          shown(gql))
    creates = [r for r in reqs if r["method"] == "POST" and re.fullmatch(r"/repos/[^/]+/[^/]+/releases", r["path"])]
    patches = [r for r in reqs if r["method"] == "PATCH"]
    writes = [r for r in reqs if r["method"] in ("POST", "PATCH", "PUT", "DELETE") and r["path"] != "/graphql"]
    check("exactly one create (POST /releases, 201)", len(creates) == 1 and creates[0]["status"] == 201, shown(creates))
    check("the retry with other notes updated it: exactly one PATCH, after the create",
          len(patches) == 1 and patches[0]["status"] == 200 and writes == creates + patches, shown(writes))
    # The third run (same notes as the second) looked the release up and wrote nothing.
    after = reqs[reqs.index(patches[0]) + 1:] if patches else []
    check("the unchanged third run read the release and wrote nothing",
          any(r["method"] == "GET" and "/releases/tags/v0.1.0" in r["path"] and r["status"] == 200 for r in after)
          and not [r for r in after if r in writes], shown(after))
    check("one release in the stand-in", len(state) == 1, json.dumps(state)[:300])
    rel = state[0] if state else {}
    notes_a, notes_b = read("notes-a"), read("notes-b")
    check("the create carried the first rendering (template github)",
          bool(creates) and notes_a is not None and creates[0]["body"]["body"] == notes_a,
          repr((creates[0]["body"]["body"] if creates else None, notes_a))[:400])
    check("the final release body is the second rendering (template keepachangelog)",
          notes_b is not None and rel.get("body") == notes_b and notes_b != notes_a,
          repr((rel.get("body"), notes_b))[:400])
    check("the release is v0.1.0, published, named v0.1.0",
          rel.get("tag_name") == "v0.1.0" and rel.get("name") == "v0.1.0" and rel.get("draft") is False,
          json.dumps(rel)[:300])
    urls = [read(f"url-{s}") for s in "abc"]
    check("release-url output of every run is the release's html_url",
          bool(rel.get("html_url")) and urls == [rel.get("html_url")] * 3, repr((urls, rel.get("html_url"))))
else:
    check("every request carried JOB-TOKEN (CI_JOB_TOKEN)",
          reqs and all(r["auth"] and r["auth_header"] == "JOB-TOKEN" for r in reqs),
          shown([r for r in reqs if r["auth_header"] != "JOB-TOKEN"]))
    odd = [r for r in reqs if r["status"] >= 400
           and not (r["status"] == 404 and r["method"] == "GET" and re.search(r"/releases/[^/]+$", r["path"]))]
    check("every request hit a known endpoint (releases, commits, merge requests)", not odd, shown(odd))
    creates = [r for r in reqs if r["method"] == "POST"]
    puts = [r for r in reqs if r["method"] == "PUT"]
    writes = [r for r in reqs if r["method"] != "GET"]
    check("exactly one create (POST /releases, 201)", len(creates) == 1 and creates[0]["status"] == 201, shown(creates))
    check("the second job with other notes updated it: exactly one PUT, after the create",
          len(puts) == 1 and puts[0]["status"] == 200 and writes == creates + puts, shown(writes))
    check("one release in the stand-in", len(state) == 1, json.dumps(state)[:300])
    rel = state[0] if state else {}
    notes = read("gl-notes")
    check("the final release description is the second job's notes (template keepachangelog)",
          notes is not None and rel.get("description") == notes
          and bool(creates) and creates[0]["body"]["description"] != notes,
          repr((rel.get("description"), notes))[:400])
    url = read("gl-url")
    check("RELMAN_OUT_RELEASE_URL (dotenv) is the release's URL",
          bool(url) and url == (rel.get("_links") or {}).get("self"), repr((url, rel.get("_links"))))
sys.exit(1 if failed else 0)
