"""Split multi-document GitLab CI YAML (a component's spec header + body) into one file per
document, so each can be checked against the gitlab-ci schema.

A body is written as GitLab would see it with every input at its default (a required input,
which has none, as the string `given-<name>`): `$[[ inputs.x ]]` is replaced by the default (a
typed value, e.g. the `rules` array, when the placeholder is the whole scalar), so the schema
checks real types rather than placeholder strings.

Usage: split-yaml-docs.py OUTDIR FILE...; prints the paths written.
"""
import os
import re
import sys

import yaml

PLACEHOLDER = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def interpolate(node, inputs):
    if isinstance(node, dict):
        return {interpolate(k, inputs): interpolate(v, inputs) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, inputs) for v in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node.strip())
        if whole:
            return inputs[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(inputs[m.group(1)]), node)
    return node


out = sys.argv[1]
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    base = path.replace("/", "__")
    inputs = {}
    if len(docs) == 2 and isinstance(docs[0], dict) and "spec" in docs[0]:
        # A required input (no default) must be given by every include: a sample string of
        # its name stands for it.
        inputs = {k: (v or {}).get("default", f"given-{k}")
                  for k, v in ((docs[0]["spec"] or {}).get("inputs") or {}).items()}
        docs[1] = interpolate(docs[1], inputs)
    for i, d in enumerate(docs):
        p = os.path.join(out, f"{base}.doc{i}.yml")
        with open(p, "w", encoding="utf-8") as f:
            yaml.safe_dump(d, f, sort_keys=False)
        print(p)
