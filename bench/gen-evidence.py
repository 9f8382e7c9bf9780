#!/usr/bin/env python3
"""Deterministic evidence for bench/gate-evidence.sh: a ~50 MB JUnit report with 100k test
cases and a SARIF log with 100k results. Usage: gen-evidence.py OUT_DIR [TESTS] [RESULTS]"""

import json
import os
import random
import sys


def junit(path, tests):
    rng = random.Random(1)
    suites = 100
    per = tests // suites
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n')
        for s in range(suites):
            cls = f"com.example.module{s:03d}.ServiceBehaviourTest"
            f.write(f'  <testsuite name="{cls}" tests="{per}" time="12.5">\n')
            f.write('    <properties><property name="java.version" value="21"/></properties>\n')
            for t in range(per):
                name = f"handles_request_variant_{t:05d}_with_expected_status_and_body"
                attrs = (f'classname="{cls}" name="{name}" time="0.{rng.randrange(1000):03d}" '
                         f'file="src/test/java/com/example/module{s:03d}/ServiceBehaviourTest.java" '
                         f'line="{10 + t}"')
                roll = rng.random()
                log = "".join(f"2026-01-01T00:00:{i:02d}Z INFO request {t}-{i} handled in {rng.randrange(90)} ms &amp; logged\n" for i in range(3))
                if roll < 0.01:
                    trace = "".join(f"\tat com.example.module{s:03d}.Frame{i}.call(Frame{i}.java:{i + 10})\n" for i in range(25))
                    f.write(f'    <testcase {attrs}>\n      <failure message="expected: &lt;200&gt; but was: &lt;500&gt;" '
                            f'type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected 200\n{trace}]]></failure>\n'
                            f'      <system-out>{log}</system-out>\n    </testcase>\n')
                elif roll < 0.03:
                    f.write(f'    <testcase {attrs}>\n      <skipped message="disabled on CI"/>\n    </testcase>\n')
                else:
                    f.write(f'    <testcase {attrs}>\n      <system-out>{log}</system-out>\n    </testcase>\n')
            f.write("  </testsuite>\n")
        f.write("</testsuites>\n")


def sarif(path, results):
    rng = random.Random(2)
    levels = ["error", "warning", "note"]
    rules = [{
        "id": f"bench/rule-{r:02d}",
        "name": f"BenchRule{r}",
        "shortDescription": {"text": f"Benchmark rule {r}"},
        "fullDescription": {"text": "A rule of the synthetic benchmark. " * 4},
        "defaultConfiguration": {"level": levels[r % 3]},
        "properties": {"security-severity": f"{(r * 1.7) % 10:.1f}", "tags": ["security", "external/cwe/cwe-079"]},
    } for r in range(50)]
    out = []
    for i in range(results):
        r = rng.randrange(50)
        res = {
            "ruleId": rules[r]["id"],
            "ruleIndex": r,
            "message": {"text": f"Finding {i}: user-provided value flows to a sensitive sink without validation."},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f"src/module{i % 300:03d}/handler_{i % 97:02d}.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 1 + i % 900, "startColumn": 5, "endLine": 1 + i % 900, "endColumn": 42}}}],
            "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"},
        }
        if i % 5 == 0:
            res["level"] = levels[i % 3]
        out.append(res)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "bench-scanner", "version": "1.0.0", "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///src/"}},
            "results": out,
        }],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(log, f, indent=1)


def main():
    out = sys.argv[1]
    tests = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    results = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    os.makedirs(out, exist_ok=True)
    junit(os.path.join(out, "junit.xml"), tests)
    sarif(os.path.join(out, "sarif.json"), results)


if __name__ == "__main__":
    main()
