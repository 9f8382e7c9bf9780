//! The sarif gate against zizmor's real output, a CodeQL-style hand-written log, and hostile
//! files.

use std::collections::BTreeMap;
use std::path::Path;

use relman_core::Error;
use relman_core::config::{AllowRule, SarifGate};

use super::evaluate;
use crate::Finding;
use crate::evidence::report_text::test_context as cx;
use crate::finding::{AnnotationLevel, Status};

fn spec(path: &str) -> SarifGate {
    SarifGate {
        paths: vec![path.into()],
        ..SarifGate::default()
    }
}

fn run_at(root: &Path, spec: &SarifGate, now: &str) -> Result<Finding, Error> {
    let store = cx::store();
    evaluate(spec, &cx::context(root, &store, now))
}

fn run(spec: &SarifGate) -> Finding {
    run_at(&cx::evidence_dir(), spec, "2026-06-01T12:00:00Z").expect("evaluates")
}

fn allow(rule: &str, path: Option<&str>, until: &str) -> AllowRule {
    AllowRule {
        rule: rule.into(),
        path: path.map(Into::into),
        until: until.into(),
        reason: "accepted for the migration".into(),
    }
}

#[test]
fn zizmor_report() {
    let f = run(&spec("sarif/zizmor.sarif"));
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "5 results: 3 error (max 0)");
    assert_eq!(f.facts["by_level"]["error"], 3);
    assert_eq!(f.facts["by_level"]["warning"], 2);
    assert_eq!(f.facts["files"], 1);
    let injection = f
        .evidence
        .iter()
        .find(|e| e.contains("template-injection"))
        .expect("template injection listed");
    assert!(
        injection.starts_with("error zizmor/template-injection at .github/workflows/ci.yml:9: "),
        "{injection}"
    );
    let a = f
        .annotations
        .iter()
        .find(|a| a.title.ends_with("template-injection"))
        .expect("annotated");
    assert_eq!(a.level, AnnotationLevel::Error);
    assert_eq!(a.file.as_deref(), Some(".github/workflows/ci.yml"));
    assert_eq!(a.line, Some(9));
    assert_eq!(a.title, "zizmor: zizmor/template-injection");
}

#[test]
fn allow_list_applies_until_its_day_and_is_reported_after() {
    let mut s = spec("sarif/zizmor.sarif");
    s.allow = vec![
        allow(
            "template-injection",
            Some(".github/workflows/*.yml"),
            "2026-06-01",
        ),
        allow("zizmor/dangerous-triggers", None, "2026-06-01"),
        allow("unpinned-uses", Some("other/**"), "2026-12-31"),
    ];
    let f = run(&s);
    assert_eq!(f.facts["allowed"], 2);
    assert_eq!(f.reason, "3 results: 1 error (max 0), 2 allowed");
    assert!(
        f.evidence.iter().any(|e| e
            .starts_with("allowed error zizmor/template-injection at .github/workflows/ci.yml:9")
            && e.ends_with("(until 2026-06-01: accepted for the migration)")),
        "{:#?}",
        f.evidence
    );

    let f = run_at(&cx::evidence_dir(), &s, "2026-06-02T00:00:00Z").expect("evaluates");
    assert_eq!(f.facts["allowed"], 0);
    assert_eq!(
        f.reason,
        "5 results: 3 error (max 0); allow-list entry for template-injection expired on 2026-06-01 (1 result counted again); allow-list entry for zizmor/dangerous-triggers expired on 2026-06-01 (1 result counted again)"
    );
    assert!(f.evidence.contains(
        &"allow-list entry for template-injection expired on 2026-06-01 (accepted for the migration)".to_string()
    ));

    s.allow = vec![allow("x", None, "June")];
    assert!(matches!(
        run_at(&cx::evidence_dir(), &s, "2026-06-01T00:00:00Z"),
        Err(Error::Usage(_))
    ));
}

#[test]
fn codeql_style_rules_extensions_suppressions_and_security_bands() {
    let mut s = spec("sarif/codeql-style.sarif");
    s.max_level = BTreeMap::from([("error".into(), 5), ("warning".into(), 5)]);
    s.max_security = BTreeMap::from([("critical".into(), 0), ("high".into(), 2)]);
    let f = run(&s);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "4 results: 1 critical (max 0)");
    assert_eq!(f.facts["results"], 4);
    assert_eq!(f.facts["suppressed"], 1);
    assert_eq!(
        f.facts["by_level"]["error"], 2,
        "default level from the rule"
    );
    assert_eq!(
        f.facts["by_level"]["warning"], 1,
        "extension rule's default level"
    );
    assert_eq!(
        f.facts["by_level"]["note"], 1,
        "problem.severity recommendation"
    );
    assert_eq!(f.facts["by_security"]["critical"], 1);
    assert_eq!(f.facts["by_security"]["high"], 2);
    assert_eq!(
        f.evidence[0],
        "error js/sql-injection at src/db layer/query.js:12: This query depends on a user-provided value."
    );
    // Worst first: both errors, then the warning, then the note.
    assert_eq!(f.annotations[1].file.as_deref(), Some("src/admin.js"));
    assert_eq!(f.annotations[1].level, AnnotationLevel::Error);
    assert_eq!(f.annotations[2].file.as_deref(), Some("web/render.js"));
    assert_eq!(f.annotations[2].level, AnnotationLevel::Warning);
    assert_eq!(f.annotations[3].level, AnnotationLevel::Notice);
    assert_eq!(f.annotations[0].title, "CodeQL: js/sql-injection");

    s.max_level = BTreeMap::from([("fatal".into(), 0)]);
    assert!(matches!(
        run_at(&cx::evidence_dir(), &s, "2026-06-01T00:00:00Z"),
        Err(Error::Usage(_))
    ));
}

#[test]
fn no_files_fail() {
    let f = run(&spec("sarif/none/*.sarif"));
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "no SARIF files match sarif/none/*.sarif");
}

fn refused(path: &str) -> (Option<usize>, String) {
    let (p, line, message) = cx::evidence_error(run_at(
        &cx::evidence_dir(),
        &spec(path),
        "2026-06-01T00:00:00Z",
    ));
    assert!(p.ends_with(path), "{} names {path}", p.display());
    (line, message)
}

#[test]
fn hostile_files_are_refused_with_the_file_named() {
    let (line, msg) = refused("sarif/hostile/wrong-version.sarif");
    assert_eq!(line, Some(1));
    assert!(
        msg.contains("SARIF version \"1.0.0\" is not supported (only 2.1.0)"),
        "{msg}"
    );
    let (line, msg) = refused("sarif/hostile/string-for-number.sarif");
    assert_eq!(line, Some(6));
    assert!(
        msg.starts_with("not a SARIF 2.1.0 log: invalid type: string \"twelve\""),
        "{msg}"
    );
    let (line, msg) = refused("sarif/hostile/truncated.sarif");
    assert!(line.is_some() && msg.starts_with("truncated JSON"), "{msg}");
    assert!(
        refused("sarif/hostile/garbage.bin")
            .1
            .starts_with("not valid JSON")
    );
    assert!(
        refused("sarif/hostile/empty.sarif")
            .1
            .starts_with("empty file")
    );
    assert!(
        refused("sarif/hostile/utf16.sarif")
            .1
            .starts_with("encoded as UTF-16")
    );
}

#[test]
fn deep_nesting_and_huge_strings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = format!(
        "{{\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{{\"name\":\"x\",\"extra\":{}{}}}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    std::fs::write(dir.path().join("deep.sarif"), &deep).expect("write");
    // Skipped values are walked without recursion: no stack overflow, nothing kept.
    let f = run_at(dir.path(), &spec("deep.sarif"), "2026-06-01T00:00:00Z").expect("evaluates");
    assert_eq!(f.facts["results"], 0);
    let deep = deep.replace("\"extra\":", "\"rules\":");
    std::fs::write(dir.path().join("deep.sarif"), deep).expect("write");
    let err = run_at(dir.path(), &spec("deep.sarif"), "2026-06-01T00:00:00Z").expect_err("refused");
    assert!(matches!(err, Error::Evidence { .. }), "{err}");

    let huge = format!(
        "{{\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{{\"name\":\"x\"}}}},\"results\":[{{\"ruleId\":\"r\",\"level\":\"error\",\"message\":{{\"text\":\"{}\"}}}}]}}]}}",
        "z".repeat(10 << 20)
    );
    std::fs::write(dir.path().join("huge.sarif"), huge).expect("write");
    let f = run_at(dir.path(), &spec("huge.sarif"), "2026-06-01T00:00:00Z").expect("evaluates");
    assert!(f.evidence[0].chars().count() < 600);
}

#[test]
fn the_worst_results_are_shown_not_the_first_in_file_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut results: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            serde_json::json!({"ruleId": "style", "level": "warning", "message": {"text": format!("w{i}")}})
        })
        .collect();
    results.push(serde_json::json!({"ruleId": "sqli", "level": "error", "message": {"text": "the one error"}}));
    let log = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": results}]});
    std::fs::write(dir.path().join("a.sarif"), log.to_string()).expect("write");
    let f = run_at(dir.path(), &spec("a.sarif"), "2026-06-01T12:00:00Z").expect("evaluates");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence[0].starts_with("error sqli: the one error"),
        "{:?}",
        f.evidence
    );
    assert!(
        f.evidence[1].starts_with("warning style: w0"),
        "{:?}",
        f.evidence
    );
    assert!(
        f.evidence.iter().any(|e| e == "… and 81 more results"),
        "{:?}",
        f.evidence
    );
}
