//! Every `.relman.yml` example in README.md, docs/gate.md and docs/rollback.md passes `relman config check`,
//! which runs each check the concerns make before they run: an example a new user copies
//! must not be rejected later by the gate. The gate examples that can run on a machine are run
//! on a fixture repository, as the docs tell a new user to run them, and their verdicts and
//! printed output are checked against what the docs say.

use std::path::Path;
use std::process::Command;

/// The fenced `yaml` blocks of `doc` whose first key is a `.relman.yml` section.
fn config_examples(doc: &str) -> Vec<(usize, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).expect("read doc");
    let mut out = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut block {
            None if line.trim_start() == "```yaml" => block = Some((n + 2, String::new())),
            Some((start, body)) if line.trim_start() == "```" => {
                let first = body
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .unwrap_or_default();
                let key = first.split(':').next().unwrap_or_default();
                if ["changelog", "gate", "packages", "forge", "rollback"].contains(&key) {
                    out.push((*start, std::mem::take(body)));
                }
                block = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_config_example_in_the_docs_passes_config_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for doc in ["README.md", "docs/gate.md", "docs/rollback.md"] {
        let examples = config_examples(doc);
        assert!(!examples.is_empty(), "{doc}: no .relman.yml example found");
        for (line, body) in examples {
            let file = dir.path().join(format!("example-{checked}.yml"));
            std::fs::write(&file, &body).expect("write");
            let out = Command::new(env!("CARGO_BIN_EXE_relman"))
                .args(["config", "check"])
                .arg(&file)
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .output()
                .expect("run relman");
            assert!(
                out.status.success(),
                "{doc}:{line}: the example fails `relman config check`:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked}");
}

fn doc_text(doc: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).expect("read doc")
}

/// The body of the first fenced block of `lang` after the first line of `doc` containing
/// `marker`.
fn block_after(doc: &str, marker: &str, lang: &str) -> String {
    let text = doc_text(doc);
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{doc}: no {marker:?}"));
    let fence = format!("```{lang}\n");
    let open = start
        + text[start..]
            .find(&fence)
            .unwrap_or_else(|| panic!("{doc}: no {lang} block after {marker:?}"))
        + fence.len();
    let close = open + text[open..].find("```").expect("closing fence");
    text[open..close].to_string()
}

/// A command with the environment of a developer's shell outside CI: no CI, forge, git or
/// relman variables.
fn scrubbed(program: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if ["GITHUB_", "CI_", "GITLAB_", "GIT_", "RELMAN_", "XDG_"]
            .iter()
            .any(|p| k.starts_with(p))
            || k == "CI"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.envs([
        ("GIT_AUTHOR_NAME", "Alice Author"),
        ("GIT_AUTHOR_EMAIL", "alice@example.com"),
        ("GIT_COMMITTER_NAME", "Alice Author"),
        ("GIT_COMMITTER_EMAIL", "alice@example.com"),
        ("GIT_AUTHOR_DATE", "@1700000000 +0000"),
        ("GIT_COMMITTER_DATE", "@1700000000 +0000"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("NO_COLOR", "1"),
        ("TZ", "UTC"),
    ]);
    cmd.env("HOME", dir.join(".home"));
    cmd.current_dir(dir).stdin(std::process::Stdio::null());
    cmd
}

fn git(dir: &Path, args: &[&str]) {
    let out = scrubbed("git", dir).args(args).output().expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `relman ARGS` in `dir`: exit code and stdout.
fn relman(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = scrubbed(env!("CARGO_BIN_EXE_relman"), dir)
        .args(args)
        .output()
        .expect("run relman");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().expect("exit code");
    assert!(
        code < 2,
        "relman {args:?} exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, stdout)
}

/// The words of a documented `relman …` command line, comments dropped.
fn command_words(line: &str) -> Vec<String> {
    let line = line.split(" #").next().unwrap_or_default();
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    assert_eq!(words.first().map(String::as_str), Some("relman"), "{line}");
    words[1..].to_vec()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn copy(from: &Path, dir: &Path, rel: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::copy(from, p).expect("copy");
}

/// A 12-digit commit id replaced, so the documented output compares with any commit.
fn masked(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let bare = w.trim_end_matches(',');
            if bare.len() == 12 && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
                w.replacen(bare, "<commit>", 1)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn readme_smallest_gate_step_runs_as_documented() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path();
    let project = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/relman-gate/tests/evidence/junit/pytest-project");
    // pytest 9.2's own report (see that folder's README) and the sources it ran.
    for f in [
        "src/shop/__init__.py",
        "src/shop/cart.py",
        "tests/test_cart.py",
    ] {
        copy(&project.join(f), repo, f);
    }
    copy(
        &project.join("pytest-nested.xml"),
        repo,
        "reports/pytest.xml",
    );
    let section = "### The smallest working step";
    write(
        repo,
        ".relman.yml",
        &block_after("README.md", section, "yaml"),
    );
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "feat: carts"]);

    // The documented commands, in order, as written.
    let commands = block_after("README.md", section, "sh");
    let commands: Vec<Vec<String>> = commands
        .lines()
        .filter(|l| l.starts_with("relman "))
        .map(command_words)
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    fn args(c: &[String]) -> Vec<&str> {
        c.iter().map(String::as_str).collect()
    }
    let (code, out) = relman(repo, &args(&commands[0]));
    assert_eq!(code, 0, "{out}");
    let (code, out) = relman(repo, &args(&commands[1]));
    assert_eq!(code, 1, "{out}");
    let documented = block_after("README.md", section, "text");
    assert_eq!(
        masked(&out),
        masked(&documented),
        "README.md's example output is not what relman prints"
    );

    // All tests passing: a dry run is rehearsal-go (exit 1), the real run is go (exit 0).
    write(
        repo,
        "reports/pytest.xml",
        "<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_cart\" \
         name=\"test_total\"/></testsuite></testsuites>",
    );
    let (code, out) = relman(repo, &args(&commands[1]));
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("relman gate: REHEARSAL-GO"), "{out}");
    let (code, out) = relman(repo, &["gate", "--no-commit-status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("relman gate: GO"), "{out}");
}

#[test]
fn docs_production_example_dry_runs_on_a_fixture_repository() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path();
    let config = block_after("docs/gate.md", "# `relman gate`", "yaml");
    assert!(config.starts_with("# .relman.yml\ngate:"), "{config}");
    write(repo, ".relman.yml", &config);
    // Evidence for every evidence gate of the example, all good.
    write(repo, "src/app.py", "def add(a, b):\n    return a + b\n");
    write(
        repo,
        "reports/unit/junit.xml",
        "<testsuites><testsuite name=\"pytest\"><testcase classname=\"tests.test_app\" \
         name=\"test_add\"/></testsuite></testsuites>\n",
    );
    write(
        repo,
        "scan.sarif",
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"scanner"}},"results":[]}]}"#,
    );
    write(
        repo,
        "coverage.xml",
        "<?xml version=\"1.0\" ?>\n<coverage line-rate=\"1\" branch-rate=\"0\"><packages>\
         <package name=\"src\"><classes><class name=\"app.py\" filename=\"src/app.py\">\
         <lines><line number=\"1\" hits=\"1\"/><line number=\"2\" hits=\"1\"/></lines>\
         </class></classes></package></packages></coverage>\n",
    );
    write(
        repo,
        "bench.json",
        r#"{"benchmarks":[{"name":"add","value":1.5,"unit":"ms"}]}"#,
    );
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "feat: app"]);

    let statuses = |args: &[&str]| -> (i32, serde_json::Value) {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let (code, out) = relman(repo, &all);
        (code, serde_json::from_str(&out).expect("the JSON report"))
    };
    let gate_status = |report: &serde_json::Value| -> Vec<(String, String)> {
        report["gates"]
            .as_array()
            .expect("gates")
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().expect("name").to_string(),
                    g["status"].as_str().expect("status").to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };

    // staging: every gate reads files, so a dry run decides all of them.
    let (code, report) = statuses(&["gate", "--policy", "staging", "--dry-run"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "rehearsal-go", "{report}");
    assert_eq!(
        gate_status(&report),
        pairs(&[
            ("junit", "pass"),
            ("sarif", "pass"),
            ("coverage", "pass"),
            ("perf", "pass")
        ])
    );

    // production: the command the docs give, word for word.
    let line = block_after("docs/gate.md", "Dry-run it on your machine", "sh");
    let words = command_words(line.trim());
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let (code, report) = statuses(&args);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["verdict"], "no-go", "{report}");
    assert_eq!(
        gate_status(&report),
        pairs(&[
            ("junit", "pass"),
            ("sarif", "pass"),
            ("coverage", "pass"),
            ("perf", "pass"),
            ("checks", "skipped"),
            ("approvals", "skipped"),
            ("second-approval", "skipped"),
            ("blockers", "skipped"),
            ("risk", "pass"),
            ("window", "fail"),
            ("rollback", "fail"),
            ("monitoring", "fail"),
            ("condition", "pass"),
        ])
    );
    let reason = |name: &str| -> String {
        report["gates"]
            .as_array()
            .expect("gates")
            .iter()
            .find(|g| g["name"] == name)
            .and_then(|g| g["reason"].as_str())
            .expect("reason")
            .to_string()
    };
    for name in ["checks", "approvals", "blockers"] {
        assert!(
            reason(name).starts_with("not evaluated in a dry run"),
            "{name}: {}",
            reason(name)
        );
    }
    // Inside the working hours (the --now of the docs), failing only on the forge's freezes.
    assert!(
        reason("window").contains("cannot tell whether a deploy freeze is active")
            && !reason("window").contains("outside"),
        "{}",
        reason("window")
    );
    assert!(report["not_recorded"].is_string(), "{report}");
    // Nothing was written to the repository's state ref (the default, or a branch).
    let out = scrubbed("git", repo)
        .args([
            "for-each-ref",
            "--format=%(refname)",
            "refs/relman/",
            "refs/heads/relman/",
        ])
        .output()
        .expect("git");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
