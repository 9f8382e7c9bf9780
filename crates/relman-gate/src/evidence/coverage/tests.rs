//! Reports from the real tools (coverage.py) and hand-made or damaged ones; see
//! `tests/evidence/coverage/README.md` for how each file was made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use relman_core::config::CoverageGate;
use relman_forge::LocalStore;

use super::*;
use crate::context::{Change, ChangedFile};
use crate::evidence::report_text::test_context::evidence_error;
use crate::finding::AnnotationLevel;

fn evidence() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence/coverage")
}

fn spec(paths: &[&str]) -> CoverageGate {
    CoverageGate {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        ..CoverageGate::default()
    }
}

fn changed(path: &str, lines: &[u32]) -> ChangedFile {
    ChangedFile {
        path: path.into(),
        added: lines.len() as u64,
        removed: 0,
        added_lines: lines.to_vec(),
    }
}

/// Evaluates `spec` with the repository at `root` and `files` changed.
fn run(spec: &CoverageGate, root: &Path, files: Vec<ChangedFile>) -> Result<Finding, Error> {
    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(store_dir.path()).expect("store");
    let cx = Context {
        change: Change {
            files,
            ..Change::default()
        },
        ..Context::for_test(&store, root)
    };
    evaluate(spec, &cx)
}

#[test]
fn coverage_py_cobertura_and_lcov_agree() {
    let xml = run(&spec(&["coverage.xml"]), &evidence(), vec![]).expect("xml");
    let lcov = run(&spec(&["coverage.lcov"]), &evidence(), vec![]).expect("lcov");
    for f in [&xml, &lcov] {
        assert_eq!(f.facts["lines_total"], 26, "{f:?}");
        assert_eq!(f.facts["lines_covered"], 14);
        assert_eq!(f.facts["line"], 53.85);
        assert_eq!(f.facts["branch"], 31.25);
        assert_eq!(f.facts["files"], 3);
        assert_eq!(f.status, Status::Pass);
    }
    assert_eq!(xml.explain[0], "read coverage.xml (Cobertura XML, 3 files)");
    assert_eq!(lcov.explain[0], "read coverage.lcov (LCOV, 3 files)");
}

#[test]
fn several_reports_merge_as_a_union_of_hit_lines() {
    let f = run(&spec(&["coverage.xml", "units.lcov"]), &evidence(), vec![]).expect("merge");
    assert_eq!(f.facts["lines_total"], 26);
    assert_eq!(f.facts["lines_covered"], 18);
    assert_eq!(f.explain.len(), 3);
}

#[test]
fn thresholds_pass_at_the_boundary_and_fail_just_above() {
    let mut s = spec(&["coverage.xml"]);
    s.min_line = Some(53.85);
    s.min_branch = Some(31.25);
    let f = run(&s, &evidence(), vec![]).expect("at");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(
        f.reason,
        "line coverage 53.85% (min 53.85%); branch coverage 31.25% (min 31.25%)"
    );

    s.min_line = Some(53.86);
    let f = run(&s, &evidence(), vec![]).expect("above");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.reason.starts_with("line coverage 53.85% below 53.86%"),
        "{}",
        f.reason
    );
}

#[test]
fn missing_branch_data_fails_a_branch_minimum() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("lcov.info"),
        "SF:a.rs\nDA:1,1\nDA:2,0\nend_of_record\n",
    )
    .expect("write");
    let mut s = spec(&["lcov.info"]);
    s.min_branch = Some(10.0);
    let f = run(&s, dir.path(), vec![]).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.facts["branch"], serde_json::Value::Null);
    assert!(f.reason.contains("no branch data"), "{}", f.reason);
}

#[test]
fn changed_lines_count_only_executable_ones_and_annotate_ranges() {
    let mut s = spec(&["coverage.xml"]);
    s.min_changed_line = Some(50.0);
    // area.py 5-11: 5-8 covered, 9-11 not; 12-13 are blank. units.py 1-7: 1, 4, 5, 7
    // covered, 6 not, 2-3 blank. README.md is not code.
    let files = vec![
        changed("src/shapes/area.py", &(5..=13).collect::<Vec<_>>()),
        changed("src/shapes/units.py", &(1..=7).collect::<Vec<_>>()),
        changed("README.md", &[1, 2]),
    ];
    let f = run(&s, &evidence(), files).expect("run");
    assert_eq!(f.facts["changed_lines_total"], 12, "{f:?}");
    assert_eq!(f.facts["changed_lines_covered"], 8);
    assert_eq!(f.facts["changed_line"], 66.67);
    assert_eq!(f.status, Status::Pass);
    assert_eq!(
        f.evidence,
        [
            "src/shapes/area.py: 4/7 changed lines covered (57.1%), uncovered: 9-11",
            "src/shapes/units.py: 4/5 changed lines covered (80.0%), uncovered: 6",
            "README.md: not in the coverage report",
        ]
    );
    assert_eq!(
        f.explain[1],
        "changed files with added lines: 2 in the report (12 executable changed lines), 1 not in it"
    );
    assert_eq!(f.annotations.len(), 2);
    assert_eq!(f.annotations[0].level, AnnotationLevel::Warning);
    assert_eq!(f.annotations[0].file.as_deref(), Some("src/shapes/area.py"));
    assert_eq!(f.annotations[0].line, Some(9));
    assert!(f.annotations[0].message.contains("Lines 9-11"));

    s.min_changed_line = Some(25.01);
    let f = run(
        &s,
        &evidence(),
        vec![changed("src/shapes/area.py", &[9, 10, 11, 8])],
    )
    .expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "changed lines 25.00% below 25.01%");
}

#[test]
fn no_changed_executable_lines_passes_a_changed_line_minimum() {
    let mut s = spec(&["coverage.lcov"]);
    s.min_changed_line = Some(90.0);
    let f = run(&s, &evidence(), vec![changed("docs/x.md", &[1])]).expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(f.facts["changed_line"], serde_json::Value::Null);
}

#[test]
fn jacoco_maps_package_paths_to_the_source_root() {
    let root = evidence().join("jacoco-project");
    let mut s = spec(&["jacoco.xml"]);
    s.min_changed_line = Some(0.0);
    let path = "src/main/java/com/acme/shapes/Area.java";
    let f = run(&s, &root, vec![changed(path, &[10, 11, 12, 13])]).expect("run");
    assert_eq!(f.facts["lines_total"], 6, "{f:?}");
    assert_eq!(f.facts["lines_covered"], 4);
    // Lines 7 (2 of 2) and 10 (1 of 2), as the class's BRANCH counter says.
    assert_eq!(f.facts["branch"], 75.0);
    assert_eq!(f.facts["changed_lines_total"], 3);
    assert_eq!(f.facts["changed_lines_covered"], 2);
    assert_eq!(f.annotations[0].file.as_deref(), Some(path));
    assert_eq!(f.annotations[0].line, Some(13));
    assert_eq!(f.explain[0], "read jacoco.xml (JaCoCo XML, 1 files)");
}

#[test]
fn reports_from_another_checkout_match_changed_files_by_suffix() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("lcov.info"),
        "TN:\nSF:/builds/acme/app/src/lib.rs\nDA:1,1\nDA:2,0\nend_of_record\n",
    )
    .expect("write");
    let mut s = spec(&["lcov.info"]);
    s.min_changed_line = Some(100.0);
    let f = run(&s, dir.path(), vec![changed("src/lib.rs", &[1, 2])]).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.facts["changed_lines_total"], 2);
}

#[test]
fn absolute_paths_under_the_root_become_relative() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lcov = format!(
        "SF:{}/src/main.rs\nDA:3,0\nBRDA:3,0,0,1\nBRDA:3,0,1,-\nend_of_record\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("lcov.info"), lcov).expect("write");
    let f = run(
        &spec(&["lcov.info"]),
        dir.path(),
        vec![changed("src/main.rs", &[3])],
    )
    .expect("run");
    assert_eq!(f.facts["branch"], 50.0);
    assert_eq!(
        f.evidence[0],
        "src/main.rs: 0/1 changed lines covered (0.0%), uncovered: 3"
    );
}

#[test]
fn no_matching_report_fails() {
    let f = run(&spec(&["nothing/*.xml"]), &evidence(), vec![]).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "no coverage report matches nothing/*.xml");
}

#[test]
fn hostile_and_broken_files_are_located_errors() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        (
            "entity-bomb.xml",
            Some(2),
            "DOCTYPE with an internal subset",
        ),
        (
            "external-entity.xml",
            Some(2),
            "DOCTYPE with an internal subset",
        ),
        ("undeclared-entity.xml", Some(2), "undeclared entity &lol9;"),
        ("truncated.xml", None, "not well-formed XML"),
        (
            "truncated-between-tags.xml",
            None,
            "truncated: 6 element(s) still open",
        ),
        ("utf16.xml", Some(1), "UTF-16"),
        (
            "latin1.xml",
            Some(1),
            "encoding \"iso-8859-1\" is not supported",
        ),
        ("empty.xml", None, "empty file"),
        ("blank.lcov", None, "empty file"),
        (
            "garbage.lcov",
            Some(7),
            "not an LCOV record: \"this is not lcov\"",
        ),
        (
            "truncated.lcov",
            Some(20),
            "truncated: the record of src/shapes/area.py",
        ),
        ("bad-number.lcov", Some(4), "DA:two,1: line is not a number"),
        (
            "junit-not-coverage.xml",
            Some(2),
            "root element <testsuites>",
        ),
    ];
    for &(file, line, message) in cases {
        let (path, got_line, got) = evidence_error(run(
            &spec(&[&format!("hostile/{file}")]),
            &evidence(),
            vec![],
        ));
        assert_eq!(path, Path::new("hostile").join(file), "{file}");
        assert!(got.contains(message), "{file}: {got}");
        if line.is_some() {
            assert_eq!(got_line, line, "{file}: {got}");
        }
    }
}

#[test]
fn a_huge_attribute_is_refused_quickly_without_buffering_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<coverage><sources/><packages>\n<class filename=\"");
    xml.push_str(&"a".repeat(12 << 20));
    xml.push_str("\"></class></packages></coverage>\n");
    std::fs::write(dir.path().join("huge.xml"), xml).expect("write");
    let started = Instant::now();
    let (path, line, message) = evidence_error(run(&spec(&["huge.xml"]), dir.path(), vec![]));
    assert_eq!(path, Path::new("huge.xml"));
    assert_eq!(line, Some(3));
    assert!(message.contains("longer than"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_huge_lcov_line_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lcov = format!("TN:\nSF:{}\nend_of_record\n", "x".repeat(5 << 20));
    std::fs::write(dir.path().join("lcov.info"), lcov).expect("write");
    let (_, line, message) = evidence_error(run(&spec(&["lcov.info"]), dir.path(), vec![]));
    assert_eq!(line, Some(2));
    assert!(message.contains("line longer than"), "{message}");
}

#[test]
fn method_lines_are_not_counted_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage><sources><source>.</source></sources><packages><package name="p"><classes>
<class name="A" filename="A.java"><methods><method name="m" signature="()V">
<lines><line number="2" hits="0"/></lines></method></methods>
<lines><line number="2" hits="0"/><line number="3" hits="1"/></lines></class>
</classes></package></packages></coverage>
"#;
    std::fs::write(dir.path().join("cobertura.xml"), xml).expect("write");
    let f = run(&spec(&["cobertura.xml"]), dir.path(), vec![]).expect("run");
    assert_eq!(f.facts["lines_total"], 2);
    assert_eq!(f.facts["line"], 50.0);
}

#[test]
fn absurd_counts_neither_overflow_nor_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let max = u64::MAX;
    let lcov = format!(
        "SF:a.c\nDA:1,{max}\nDA:1,{max}\nBRF:{max}\nBRH:{max}\nend_of_record\n\
         SF:b.c\nDA:1,1e30\nBRF:{max}\nBRH:1\nend_of_record\n"
    );
    std::fs::write(dir.path().join("lcov.info"), lcov).expect("write");
    let f = run(&spec(&["lcov.info"]), dir.path(), vec![]).expect("run");
    assert_eq!(f.facts["lines_covered"], 2, "{f:?}");
    assert_eq!(f.facts["branches_total"], u64::MAX);
}

#[test]
fn sources_with_references_stay_one_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("R&D");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/a.py"), "x = 1\n").expect("write");
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<coverage><sources><source>{}/R&amp;D/src</source></sources><packages><package name="p"><classes>
<class name="a" filename="a.py"><lines><line number="1" hits="1"/></lines></class>
</classes></package></packages></coverage>
"#,
        dir.path().display()
    );
    std::fs::write(root.join("coverage.xml"), xml).expect("write");
    let f = run(
        &spec(&["coverage.xml"]),
        &root,
        vec![changed("src/a.py", &[1])],
    )
    .expect("run");
    assert_eq!(f.facts["changed_lines_covered"], 1, "{f:?}");
}
