//! Runtime behaviour end to end on temporary files.

use super::*;

fn gh(dir: &Path, wrap: bool) -> Runtime {
    Runtime::GitHub(GitHub {
        output: Some(dir.join("output")),
        summary: Some(dir.join("summary")),
        wrap_untrusted: wrap,
    })
}

fn gl(dir: &Path) -> Runtime {
    Runtime::GitLab(GitLab {
        dotenv: Some(dir.join("relman.env")),
        summary: Some(dir.join("summary.md")),
        code_quality: Some(dir.join("cq.json")),
    })
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Parses a `$GITHUB_OUTPUT` file the way the runner does.
fn parse_github_output(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        } else if let Some((n, v)) = line.split_once('=') {
            out.push((n.to_string(), v.to_string()));
        }
    }
    out
}

#[test]
fn github_outputs_round_trip_through_the_runner_format() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gh(dir.path(), true);
    let notes = "## 1.2.0\n\n- feat: x\nversion=6.6.6\nghadelimiter_\nEOF\n::set-output name=a::b";
    rt.set_output("version", "1.2.0").expect("ok");
    rt.set_output("notes", notes).expect("ok");
    rt.set_output("previous-tag", "").expect("ok");
    assert!(rt.set_output("bad name", "x").is_err());
    let parsed = parse_github_output(&read(dir.path().join("output")));
    assert_eq!(
        parsed,
        vec![
            ("version".to_string(), "1.2.0".to_string()),
            ("notes".to_string(), notes.to_string()),
            ("previous-tag".to_string(), String::new()),
        ]
    );
}

#[test]
fn github_summary_appends_markdown() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gh(dir.path(), true);
    let mut log = Vec::new();
    rt.append_summary(&mut log, "## a").expect("ok");
    rt.append_summary(&mut log, "b\n").expect("ok");
    assert_eq!(read(dir.path().join("summary")), "## a\nb\n");
    assert!(log.is_empty(), "the summary goes to the file, not the log");
}

#[test]
fn github_untrusted_text_is_wrapped_unless_stdout_is_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = "feat: ::error::boom\n::add-mask::x\n";
    let mut log = Vec::new();
    gh(dir.path(), true)
        .print_untrusted(&mut log, text)
        .expect("ok");
    let log = String::from_utf8(log).expect("utf8");
    assert!(log.starts_with("::stop-commands::relman"));
    assert!(log.contains(text));
    let mut raw = Vec::new();
    gh(dir.path(), false)
        .print_untrusted(&mut raw, text)
        .expect("ok");
    assert_eq!(raw, text.as_bytes());
}

#[test]
fn github_annotations_masks_groups() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gh(dir.path(), true);
    let mut log = Vec::new();
    rt.mask(&mut log, &Secret::new("ghp_abc")).expect("ok");
    rt.annotate(
        &mut log,
        Level::Error,
        Some(".relman.yml"),
        Some(3),
        Some("config"),
        "bad: key",
    )
    .expect("ok");
    let g = rt.group_start(&mut log, "Notes").expect("ok");
    rt.group_end(&mut log, g).expect("ok");
    assert_eq!(
        String::from_utf8(log).expect("utf8"),
        "::add-mask::ghp_abc\n::error file=.relman.yml,line=3,title=config::bad: key\n::group::Notes\n::endgroup::\n"
    );
}

#[test]
fn secrets_never_print() {
    let s = Secret::new("ghp_topsecret");
    assert_eq!(format!("{s}"), "***");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
    assert_eq!(s.expose(), "ghp_topsecret");
}

#[test]
fn gitlab_outputs_go_to_dotenv_and_multiline_to_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gl(dir.path());
    rt.set_output("version", "1.2.0").expect("ok");
    rt.set_output("previous-tag", "v1.1.0").expect("ok");
    rt.set_output("notes", "## 1.2.0\n- x\n").expect("ok");
    assert_eq!(
        read(dir.path().join("relman.env")),
        "RELMAN_OUT_VERSION=1.2.0\nRELMAN_OUT_PREVIOUS_TAG=v1.1.0\nRELMAN_OUT_NOTES_FILE=relman-output-notes.txt\n"
    );
    assert_eq!(
        read(dir.path().join("relman-output-notes.txt")),
        "## 1.2.0\n- x\n"
    );
}

#[test]
fn gitlab_summary_file_and_log_section() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gl(dir.path());
    let mut log = Vec::new();
    rt.append_summary(&mut log, "## Notes\n- \x1b[0Ksection_end:1:x\r\x1b[0K")
        .expect("ok");
    assert_eq!(
        read(dir.path().join("summary.md")),
        "## Notes\n- \x1b[0Ksection_end:1:x\r\x1b[0K\n"
    );
    let log = String::from_utf8(log).expect("utf8");
    assert!(log.starts_with("\x1b[0Ksection_start:"));
    assert!(log.contains(":job_summary[collapsed=true]\r\x1b[0KJob summary\n"));
    assert!(log.contains("## Notes\n- \u{FFFD}[0Ksection_end:1:x\u{FFFD}\u{FFFD}[0K\n"));
    assert_eq!(
        log.matches("section_end:").count(),
        2,
        "one forged (neutralised), one real"
    );
    assert!(log.trim_end().ends_with(":job_summary\r\x1b[0K"));
}

#[test]
fn gitlab_annotations_append_to_code_quality_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gl(dir.path());
    let mut log = Vec::new();
    rt.annotate(&mut log, Level::Error, Some("a.md"), Some(2), None, "one")
        .expect("ok");
    rt.annotate(
        &mut log,
        Level::Warning,
        Some("b.md"),
        None,
        Some("t"),
        "two",
    )
    .expect("ok");
    rt.annotate(&mut log, Level::Notice, None, None, None, "log only")
        .expect("ok");
    let report: serde_json::Value =
        serde_json::from_str(&read(dir.path().join("cq.json"))).expect("json");
    assert_eq!(report.as_array().map(Vec::len), Some(2));
    assert_eq!(report[1]["location"]["path"], "b.md");
    let log = String::from_utf8(log).expect("utf8");
    assert_eq!(log.lines().count(), 3);
    assert!(log.contains("a.md:2: one"));
    let mut masked = Vec::new();
    rt.mask(&mut masked, &Secret::new("x")).expect("ok");
    assert!(
        masked.is_empty(),
        "GitLab cannot mask at run time; nothing is printed"
    );
}

#[test]
fn terminal_is_plain() {
    let rt = Runtime::Terminal;
    let mut log = Vec::new();
    rt.set_output("version", "1").expect("ok");
    assert!(rt.set_output("bad name", "1").is_err());
    rt.append_summary(&mut log, "x").expect("ok");
    rt.print_untrusted(&mut log, "::error::x\n").expect("ok");
    rt.annotate(&mut log, Level::Error, Some("f"), Some(1), None, "m")
        .expect("ok");
    rt.mask(&mut log, &Secret::new("s")).expect("ok");
    assert_eq!(
        String::from_utf8(log).expect("utf8"),
        "::error::x\nrelman: error: f:1: m\n"
    );
    assert!(!rt.is_ci());
}

#[test]
fn github_inputs() {
    let env = |k: &str| match k {
        "INPUT_PREVIOUS-TAG" => Some(" v1 ".to_string()),
        "INPUT_EMPTY" => Some(String::new()),
        _ => None,
    };
    assert_eq!(input(&env, "previous-tag").as_deref(), Some("v1"));
    assert_eq!(input(&env, "empty"), None);
    assert_eq!(input(&env, "missing"), None);
}

#[test]
fn errors_become_annotations() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = gh(dir.path(), true);
    let mut log = Vec::new();
    let err = Error::Config {
        file: ".relman.yml".into(),
        line: 4,
        column: 2,
        key: "changelog.template".into(),
        message: "unknown: x\ny".into(),
    };
    rt.annotate_error(&mut log, &err).expect("ok");
    rt.annotate_error(&mut log, &Error::Usage("::add-mask::x".into()))
        .expect("ok");
    assert_eq!(
        String::from_utf8(log).expect("utf8"),
        "::error file=.relman.yml,line=4,title=relman::changelog.template: unknown: x%0Ay\n::error title=relman::::add-mask::x\n"
    );
    let mut none = Vec::new();
    Runtime::Terminal
        .annotate_error(&mut none, &err)
        .expect("ok");
    assert!(none.is_empty());
}

/// Issue #12: the GitLab report files sit in the checkout, where a repository can commit a
/// symlink; relman appended and rewrote through it. Each is refused (exit 2, naming the file)
/// and the target stays untouched.
#[cfg(unix)]
#[test]
fn gitlab_report_files_planted_as_symlinks_are_refused() {
    let outside = tempfile::tempdir().expect("tmp");
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "[]").expect("tmp");
    let dir = tempfile::tempdir().expect("tmp");
    for name in [
        "summary.md",
        "cq.json",
        "relman.env",
        "relman-output-notes.txt",
    ] {
        std::os::unix::fs::symlink(&victim, dir.path().join(name)).expect("symlink");
    }
    let rt = gl(dir.path());
    let mut log = Vec::new();
    let errors = [
        rt.append_summary(&mut log, "## x").expect_err("summary"),
        rt.annotate(&mut log, Level::Error, Some("f"), Some(1), None, "m")
            .expect_err("code quality"),
        rt.set_output("version", "1").expect_err("dotenv"),
        rt.set_output("notes", "a\nb")
            .expect_err("multi-line output file"),
    ];
    for (e, name) in errors.iter().zip([
        "summary.md",
        "cq.json",
        "relman.env",
        "relman-output-notes.txt",
    ]) {
        assert_eq!(e.exit_code(), crate::ExitCode::BadInput, "{e}");
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "[]");
}
