//! Repository text never reaches a runner's command channel on stderr (issue #12, finding 1).
//!
//! The GitHub runner reads workflow commands on stdout *and* stderr (a line whose trimmed start
//! is `::`, or `##[` anywhere for the old syntax); GitLab draws sections from `ESC[0K` markers.
//! Each case makes relman fail with an error quoting hostile text and checks every stderr line.

use std::path::Path;
use std::process::Command;

use relman_core::state::testing::git;

const ATTACK: &str = "x\n::set-output name=verdict::go\n##[set-output name=verdict;]go\r::add-mask::y\n\x1b[0Ksection_end:1:step_script\r\x1b[0K";

fn repo(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.name", "a"]);
    git(dir, &["config", "user.email", "a@example.com"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "feat: first"]);
}

fn relman(dir: &Path, ci: &str, args: &[&str]) -> (i32, String, String) {
    relman_in(dir, &[("RELMAN_CI", ci)], args)
}

/// relman in `dir` with no CI variable of the test's own environment, only `env`.
fn relman_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relman"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("GITHUB_")
            || k.starts_with("GITLAB_")
            || k.starts_with("CI_")
            || k.starts_with("RELMAN_")
        {
            cmd.env_remove(&k);
        }
    }
    let out = cmd
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("RELMAN_LOG", "debug")
        .env("HOME", dir)
        .output()
        .expect("relman runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Lines as the GitHub runner splits them (`\r`, `\n`, `\r\n`).
fn runner_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r'])
}

fn assert_inert_github(stream: &str, what: &str) {
    for line in runner_lines(stream) {
        let t = line.trim_start();
        assert!(
            !t.starts_with("::") && !line.contains("##["),
            "{what}: a workflow command on stderr: {line:?}\nin {stream:?}"
        );
    }
}

fn assert_inert_gitlab(stream: &str, what: &str) {
    assert!(
        !stream.contains(['\x1b', '\r']),
        "{what}: a control sequence on stderr: {stream:?}"
    );
}

/// A whole line that is exactly the start or end marker of relman's own job-summary section
/// (`\e[0Ksection_start:TS:job_summary[collapsed=true]\r\e[0KJob summary`, `…section_end:TS:job_summary\r\e[0K`).
fn relmans_own_summary_marker(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("\x1b[0Ksection_") else {
        return false;
    };
    let rest = rest
        .strip_prefix("start:")
        .or_else(|| rest.strip_prefix("end:"));
    let Some((ts, rest)) = rest.and_then(|r| r.split_once(':')) else {
        return false;
    };
    !ts.is_empty()
        && ts.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            rest,
            "job_summary[collapsed=true]\r\x1b[0KJob summary" | "job_summary\r\x1b[0K"
        )
}

fn cases(dir: &Path) -> Vec<(&'static str, Vec<&'static str>)> {
    let sarif = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "t"}},
                  "results": [{"level": ATTACK, "message": {"text": "m"}}]}]
    });
    std::fs::create_dir_all(dir.join("reports")).expect("test setup");
    std::fs::write(dir.join("reports/a.sarif"), sarif.to_string()).expect("test setup");
    std::fs::write(
        dir.join("sarif.yml"),
        "forge: { kind: local }\ngate:\n  policies:\n    default:\n      gates:\n        - sarif: { paths: [\"reports/*.sarif\"] }\n",
    )
    .expect("test setup");
    let key = serde_json::to_string(ATTACK).expect("test setup");
    std::fs::write(dir.join("key.yml"), format!("{key}: 1\n")).expect("test setup");
    vec![
        (
            "a SARIF level",
            vec![
                "gate",
                "--config",
                "sarif.yml",
                "--now",
                "2026-11-26T10:00:00Z",
            ],
        ),
        ("a .relman.yml key", vec!["gate", "--config", "key.yml"]),
        (
            "a .relman.yml key (changelog)",
            vec!["changelog", "--config", "key.yml"],
        ),
    ]
}

#[test]
fn hostile_text_on_stderr_is_inert_on_github() {
    let tmp = tempfile::tempdir().expect("test setup");
    repo(tmp.path());
    for (what, args) in cases(tmp.path()) {
        let (code, _out, err) = relman(tmp.path(), "github", &args);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(
            err.contains("set-output name=verdict"),
            "{what}: the text is still shown: {err}"
        );
        assert_inert_github(&err, what);
    }
}

#[test]
fn hostile_text_on_stderr_is_inert_on_gitlab() {
    let tmp = tempfile::tempdir().expect("test setup");
    repo(tmp.path());
    for (what, args) in cases(tmp.path()) {
        let (code, out, err) = relman(tmp.path(), "gitlab", &args);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(
            err.contains("section_end"),
            "{what}: the text is still shown: {err}"
        );
        assert_inert_gitlab(&err, what);
        // stdout may hold relman's own colours and its own job-summary section, never another
        // section marker or a carriage return.
        for line in out.split('\n') {
            assert!(
                relmans_own_summary_marker(line)
                    || (!line.contains("\x1b[0Ksection_") && !line.contains('\r')),
                "{what}: a forged section on stdout: {line:?}\nin {out:?}"
            );
        }
    }
}

#[test]
fn the_checker_sees_a_raw_command() {
    // Control: the assertions above would catch text printed raw.
    let caught = std::panic::catch_unwind(|| assert_inert_github(ATTACK, "control"));
    assert!(caught.is_err());
    let caught = std::panic::catch_unwind(|| assert_inert_gitlab(ATTACK, "control"));
    assert!(caught.is_err());
}

/// The lines of a component's script from `from` (a substring) through the first line equal to
/// `to` (trimmed), dedented.
fn script_part(template: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(template))
        .expect("template");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.contains(from)).expect("start");
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim_end().ends_with(to))
            .expect("end");
    lines[start..=end]
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_newline_in_a_component_input_cannot_unset_relman_variables() {
    // Issue #12 finding 10: `env | sed` read a forged `RELMAN_HEAD=` line from an input value.
    for template in ["templates/gate.yml", "templates/changelog.yml"] {
        let part = script_part(template, "for name in $(env", "done");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("set -eu\n{part}\necho \"HEAD=${{RELMAN_HEAD-unset}} EXPLAIN=${{RELMAN_EXPLAIN-unset}}\""))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RELMAN_HEAD", "main")
            .env("RELMAN_INPUT_BASE", "x\nRELMAN_HEAD=\nRELMAN_HEAD=false")
            .env("RELMAN_EXPLAIN", "false")
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.trim(),
            "HEAD=main EXPLAIN=unset",
            "{template}: {out:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_committed_relman_env_symlink_is_not_followed() {
    // Issue #12 finding 7: `: > relman.env` truncated whatever a committed symlink named.
    for template in ["templates/gate.yml", "templates/changelog.yml"] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("victim"), "keep").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("victim"), tmp.path().join("relman.env"))
            .unwrap();
        let part = script_part(template, "rm -f relman-summary.md", ": > relman.env");
        let ok = Command::new("sh")
            .arg("-c")
            .arg(format!("set -eu\n{part}"))
            .current_dir(tmp.path())
            .env("RELMAN_GATE_REPORT", "relman-gate-report-relman-gate.json")
            .status()
            .expect("sh runs")
            .success();
        assert!(ok, "{template}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("victim")).unwrap(),
            "keep",
            "{template}"
        );
        assert!(!tmp.path().join("relman.env").is_symlink(), "{template}");
    }
}

/// Issue #12 finding 10: commit text went raw into the changelog's job summary, a page the
/// runner renders (HTML, links, headings and table rows from a commit subject). The summary
/// renders the template with every interpolated value escaped; the notes output stays plain.
#[test]
fn a_hostile_commit_subject_is_inert_in_the_changelog_summary() {
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    repo(dir);
    let subject = "feat: <img src=x onerror=alert(1)> [click](https://evil.example) | `code` &amp;";
    let ok = Command::new("git")
        .args(["commit", "-q", "--allow-empty", "-m", subject])
        .args([
            "-m",
            "<!-- hides the rest\n\n## Forged heading\n\n| a | b |",
        ])
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "<b>mallory</b>")
        .env("GIT_AUTHOR_EMAIL", "m@example.com")
        .env("GIT_COMMITTER_NAME", "m")
        .env("GIT_COMMITTER_EMAIL", "m@example.com")
        .status()
        .expect("git runs")
        .success();
    assert!(ok);
    // A template that prints the body too, so a multi-line value is part of the attack.
    std::fs::write(
        dir.join("notes.j2"),
        "## Notes\n{% for g in groups %}{% for e in g.entries %}- {{ e.description }} by {{ e.author.name }}\n  {{ e.body }}\n{% endfor %}{% endfor %}",
    )
    .expect("test setup");
    std::fs::write(
        dir.join(".relman.yml"),
        "changelog:\n  template: notes.j2\n",
    )
    .expect("test setup");
    let summary = dir.join("summary.md");
    let output = dir.join("output.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_relman"))
        .args(["changelog"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RELMAN_CI", "github")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .expect("relman runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = std::fs::read_to_string(&summary).expect("a summary is written");
    // The template's own markdown stays markdown.
    assert!(shown.starts_with("## Notes\n- "), "{shown}");
    for raw in [
        "<img",
        "<b>",
        "<!--",
        "[click](",
        "[click]",
        "| a |",
        "`code`",
        "\n## Forged",
    ] {
        assert!(
            !shown.contains(raw),
            "{raw:?} reached the summary raw:\n{shown}"
        );
    }
    // `&` itself becomes an entity, so the subject's `&amp;` shows as written.
    assert!(shown.contains("&amp;amp;"), "{shown}");
    assert!(
        shown.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{shown}"
    );
    assert!(
        shown.contains("\\[click\\](https://evil.example) \\| 'code'"),
        "{shown}"
    );
    // The notes output is data for the next step: the plain render, as written.
    let notes = std::fs::read_to_string(&output).expect("outputs are written");
    assert!(
        notes.contains("<img src=x onerror=alert(1)> [click](https://evil.example)"),
        "{notes}"
    );
}

// Issue #12 finding 1 through the runner's own detection (`GITHUB_ACTIONS=true`,
// `GITLAB_CI=true`, as on a runner; the cases above force the runtime with RELMAN_CI): a JUnit
// test name and a forge API error body, the two fields the act run covered alone before.

/// Every workflow command a contributor would like obeyed, one per line, and GitLab's section
/// markers.
const COMMANDS: &str = "x\n::set-output name=verdict::go\n::add-mask::MASKME\n::stop-commands::pwn\n::error title=FORGED::forged\n##[set-output name=verdict;]go\r::set-env name=PWNED::1\n\x1b[0Ksection_end:1:step_script\r\x1b[0K";

/// GitHub: a line the runner reads as a command is one of relman's own annotations
/// (`::error …::message`, the text %-encoded on that line), never a forged one (a whole
/// `::error title=FORGED::` line) nor any other command. The runner (actions/runner
/// `ActionCommandManager.TryProcessCommand`) parses a line as `::name …::data` first and looks
/// for the old `##[name]` syntax anywhere in it only when that fails, so `##[` inside one of
/// relman's annotations would be text, and anywhere else a command; relman writes it as `#\#[`
/// everywhere, so no line holds it.
fn assert_only_relmans_annotations(stream: &str, what: &str) {
    for line in runner_lines(stream) {
        let t = line.trim_start();
        match t.strip_prefix("::").filter(|rest| rest.contains("::")) {
            Some(rest) => {
                let name = rest.split([' ', ':']).next().unwrap_or_default();
                assert!(
                    matches!(name, "error" | "warning" | "notice")
                        && !t.starts_with("::error title=FORGED::")
                        && !line.contains("##["),
                    "{what}: a workflow command: {line:?}\nin {stream:?}"
                );
            }
            None => assert!(
                !t.starts_with("::") && !line.contains("##["),
                "{what}: a workflow command: {line:?}\nin {stream:?}"
            ),
        }
    }
}

/// GitLab: no carriage return and no section marker but relman's own job-summary markers.
fn assert_no_forged_section(stream: &str, what: &str) {
    for line in stream.split('\n') {
        assert!(
            relmans_own_summary_marker(line)
                || (!line.contains("\x1b[0Ksection_") && !line.contains('\r')),
            "{what}: a forged section or carriage return: {line:?}\nin {stream:?}"
        );
    }
}

/// Text as an XML attribute value (control characters as character references).
fn xml_attr(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            c if c.is_control() => format!("&#{};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// A repository whose JUnit report has a failing test named and failing with [`COMMANDS`]
/// (no ESC there: XML 1.0 has no way to write it), gated by the `junit` policy.
fn junit_repo(dir: &Path) -> String {
    repo(dir);
    let hostile = COMMANDS.replace('\x1b', "");
    std::fs::create_dir_all(dir.join("reports")).expect("test setup");
    std::fs::write(
        dir.join("reports/junit.xml"),
        format!(
            "<?xml version=\"1.0\"?>\n<testsuite name=\"s\" tests=\"2\" failures=\"1\">\n\
             <testcase classname=\"c\" name=\"ok\"/>\n\
             <testcase classname=\"{c}\" name=\"{n}\"><failure message=\"{m}\">trace</failure></testcase>\n\
             </testsuite>\n",
            c = xml_attr(&format!("c.{hostile}")),
            n = xml_attr(&format!("test_{hostile}")),
            m = xml_attr(&format!("failed {hostile}")),
        ),
    )
    .expect("test setup");
    std::fs::write(
        dir.join(".relman.yml"),
        "forge: { kind: local }\ngate:\n  policies:\n    junit:\n      gates:\n        - junit: { paths: [\"reports/junit.xml\"] }\n",
    )
    .expect("test setup");
    hostile
}

/// A JUnit test name reaches stderr in the annotations of `gate --format json` (stdout is the
/// JSON document); in text format the annotations are on the fenced stdout and stderr holds
/// the logs. Either way no line of stderr is a command, and the JSON keeps the name as data.
#[test]
fn a_junit_test_name_on_stderr_is_inert_on_github() {
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    let hostile = junit_repo(dir);
    let runner = dir.join("runner");
    std::fs::create_dir_all(&runner).expect("test setup");
    let output = runner.join("output");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("RUNNER_TEMP", runner.to_str().expect("utf-8")),
        ("GITHUB_OUTPUT", output.to_str().expect("utf-8")),
    ];
    let gate = ["gate", "--policy", "junit", "--no-commit-status"];
    let (code, out, err) = relman_in(dir, &env, &[&gate[..], &["--format", "json"]].concat());
    assert_eq!(code, 1, "a no-go: {err}");
    assert!(
        err.contains("set-output name=verdict"),
        "the name is on stderr (so the check below is not vacuous): {err}"
    );
    assert!(err.lines().any(|l| l.starts_with("::error ")), "{err}");
    assert_only_relmans_annotations(&err, "--format json");
    let json: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON document");
    assert!(
        json.to_string()
            .contains(&serde_json::to_string(&hostile).expect("json")[1..20])
    );
    let outputs = std::fs::read_to_string(&output).expect("outputs written");
    assert!(
        outputs.contains("no-go") && !outputs.contains("verdict=go"),
        "{outputs}"
    );

    let (code, _out, err) = relman_in(dir, &env, &gate);
    assert_eq!(code, 1, "a no-go: {err}");
    assert_only_relmans_annotations(&err, "text");
}

#[test]
fn a_junit_test_name_on_stderr_is_inert_on_gitlab() {
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    junit_repo(dir);
    let env = [("GITLAB_CI", "true")];
    let gate = ["gate", "--policy", "junit", "--no-commit-status"];
    for args in [&[&gate[..], &["--format", "json"]].concat()[..], &gate[..]] {
        let (code, out, err) = relman_in(dir, &env, args);
        assert_eq!(code, 1, "{args:?}: a no-go: {err}");
        assert_no_forged_section(&err, "stderr");
        assert_no_forged_section(&out, "stdout");
        assert!(
            format!("{out}{err}").contains("set-output name=verdict"),
            "{args:?}: the name is shown: {out}{err}"
        );
    }
}

/// Runs relman off the async test's threads (wiremock answers on them).
async fn relman_async(
    dir: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
    args: Vec<&'static str>,
) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        relman_in(&dir, &env, &args)
    })
    .await
    .expect("join")
}

/// A forge stand-in answering every request with `status` and `body`.
async fn hostile_forge(status: u16, body: serde_json::Value) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

/// `changelog --publish` on a repository tagged v0.1.0 against `server` (every answer a 422
/// quoting [`COMMANDS`]) with the CI variables `env`: it must ask the server, fail with exit 3,
/// quote the body on stderr (`quoted` is in it, so the checks that follow are not vacuous) and
/// never print the token. Stdout and stderr, for the forge's own checks.
async fn publish_against_a_hostile_forge(
    server: &wiremock::MockServer,
    env: Vec<(&'static str, String)>,
    quoted: &str,
) -> (String, String) {
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path().to_path_buf();
    repo(&dir);
    git(&dir, &["tag", "v0.1.0"]);
    let args = vec!["changelog", "--tag", "v0.1.0", "--publish"];
    let (code, out, err) = relman_async(dir, env, args).await;
    assert!(
        !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the stand-in was asked"
    );
    assert_eq!(code, 3, "an external failure: {err}");
    assert!(
        err.contains(quoted) && err.contains("422"),
        "the body is quoted on stderr (so the check is not vacuous): {err}"
    );
    assert!(
        !format!("{out}{err}").contains("tok-4f1c9e"),
        "the token printed"
    );
    (out, err)
}

/// `changelog --publish` against a GitHub whose every answer is a 422 whose `message` and
/// `errors[].message` are [`COMMANDS`]: the error chain quotes them on stderr, inert.
#[tokio::test(flavor = "multi_thread")]
async fn a_github_api_error_body_on_stderr_is_inert() {
    let server = hostile_forge(
        422,
        serde_json::json!({
            "message": format!("api {COMMANDS}"),
            "errors": [{"resource": "Release", "code": "custom", "message": format!("field {COMMANDS}")}],
        }),
    )
    .await;
    let env = vec![
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_API_URL", server.uri()),
        ("GITHUB_REPOSITORY", "o/r".to_string()),
        ("GITHUB_TOKEN", "tok-4f1c9e".to_string()),
    ];
    let (_, err) = publish_against_a_hostile_forge(&server, env, "set-output name=verdict").await;
    assert_only_relmans_annotations(&err, "stderr");
}

/// The same on GitLab, where the attack is a section marker and a carriage return (GitLab's
/// `message`, cut to 300 characters: the attack fits).
#[tokio::test(flavor = "multi_thread")]
async fn a_gitlab_api_error_body_on_stderr_is_inert() {
    let server = hostile_forge(
        422,
        serde_json::json!({ "message": format!("api {COMMANDS}") }),
    )
    .await;
    let env = vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", format!("{}/api/v4", server.uri())),
        ("CI_PROJECT_PATH", "g/p".to_string()),
        ("CI_JOB_TOKEN", "tok-4f1c9e".to_string()),
    ];
    let (out, err) =
        publish_against_a_hostile_forge(&server, env, "section_end:1:step_script").await;
    assert_no_forged_section(&err, "stderr");
    assert_no_forged_section(&out, "stdout");
}

#[test]
fn the_checkers_see_raw_commands() {
    // Control for the checkers above: the attack printed raw is caught by each.
    for check in [assert_only_relmans_annotations, assert_no_forged_section] {
        let caught = std::panic::catch_unwind(|| check(COMMANDS, "control"));
        assert!(caught.is_err());
    }
    let forged = "::error title=FORGED::forged\n";
    assert!(std::panic::catch_unwind(|| assert_only_relmans_annotations(forged, "c")).is_err());
    let old_syntax = "x ##[set-output name=verdict;]go\n";
    assert!(std::panic::catch_unwind(|| assert_only_relmans_annotations(old_syntax, "c")).is_err());
    let own = "::error title=x%0A%3A%3Aset-output name=verdict%3A%3Ago #\\#[set-output name=v;]go::m%0A::add-mask::y\n";
    assert_only_relmans_annotations(own, "relman's own annotation");
    let old_inside = "::error title=x ##[set-output name=v;]go::m\n";
    assert!(std::panic::catch_unwind(|| assert_only_relmans_annotations(old_inside, "c")).is_err());
}
