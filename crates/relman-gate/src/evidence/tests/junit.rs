//! The junit gate against reports written by the real tools, hand-written dialect samples,
//! and hostile files.

use std::path::Path;

use relman_core::Error;
use relman_core::config::JunitGate;

use super::evaluate;
use crate::Finding;
use crate::evidence::report_text::test_context as cx;
use crate::finding::{AnnotationLevel, Status};

const NOW: &str = "2026-06-01T12:00:00Z";

fn spec(path: &str) -> JunitGate {
    JunitGate {
        paths: vec![path.into()],
        ..JunitGate::default()
    }
}

fn run_in(root: &Path, spec: &JunitGate) -> Result<Finding, Error> {
    let store = cx::store();
    evaluate(spec, &cx::context(root, &store, NOW))
}

fn run(spec: &JunitGate) -> Finding {
    run_in(&cx::evidence_dir(), spec).expect("evaluates")
}

fn facts(f: &Finding) -> [u64; 6] {
    let n = |k: &str| f.facts[k].as_u64().expect(k);
    [
        n("tests"),
        n("tests_passed"),
        n("failures"),
        n("errors"),
        n("skipped"),
        n("flaky"),
    ]
}

#[test]
fn pytest_report() {
    let f = run(&spec("junit/pytest.xml"));
    assert_eq!(f.status, Status::Fail);
    assert_eq!(facts(&f), [6, 2, 2, 1, 1, 0]);
    assert_eq!(
        f.reason,
        "2 failed, 1 error of 6 tests, 1 skipped (max 0 failed, 0 errors)"
    );
    assert_eq!(
        f.evidence,
        [
            "failed: tests.test_sample.test_fail: AssertionError: arithmetic & <logic> is off",
            "error: tests.test_sample.test_error: failed on setup with \"RuntimeError: database unavailable\"",
            "failed: tests.test_sample.TestApi.test_method_fail: AssertionError: assert 'a' == 'b'",
        ]
    );
    assert_eq!(f.facts["files"], 1);
    assert_eq!(
        f.explain,
        ["read junit/pytest.xml: 6 tests (2 failed, 1 errors, 1 skipped, 0 flaky)"]
    );
    // No file attribute in xunit2 and no tests/test_sample.py under this root: no guess.
    assert_eq!(f.annotations.len(), 3);
    assert_eq!(f.annotations[0].file, None);
    assert_eq!(f.annotations[0].level, AnnotationLevel::Error);
}

#[test]
fn pytest_xunit1_lines_are_made_one_based() {
    let f = run(&spec("junit/pytest-xunit1.xml"));
    let a = &f.annotations[0];
    assert_eq!(a.file.as_deref(), Some("tests/test_sample.py"));
    // `def test_fail():` is line 13 of the test file; pytest writes 12.
    assert_eq!(a.line, Some(13));
    assert_eq!(a.title, "test failed: tests.test_sample.test_fail");
}

#[test]
fn classname_guess_only_when_the_file_exists() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("reports")).expect("mkdir");
    std::fs::copy(
        cx::evidence_dir().join("junit/pytest.xml"),
        dir.path().join("reports/p.xml"),
    )
    .expect("copy");
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    std::fs::write(dir.path().join("tests/test_sample.py"), "").expect("write");
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(
        f.annotations[0].file.as_deref(),
        Some("tests/test_sample.py")
    );
    assert_eq!(
        f.annotations[2].file.as_deref(),
        Some("tests/test_sample.py")
    );

    let f = run_in(&cx::evidence_dir().join("junit"), &spec("surefire.xml")).expect("evaluates");
    assert_eq!(
        f.annotations[0].file.as_deref(),
        Some("src/test/java/com/acme/CartTest.java")
    );
}

#[test]
fn jest_and_vitest_reports() {
    let f = run(&spec("junit/jest.xml"));
    assert_eq!(facts(&f), [4, 1, 2, 0, 1, 0]);
    assert_eq!(
        f.evidence[0],
        "failed: math fails: Error: expect(received).toBe(expected) // Object.is equality"
    );
    assert_eq!(f.annotations[0].file.as_deref(), Some("sample.test.js"));
    let f = run(&spec("junit/vitest.xml"));
    assert_eq!(facts(&f), [4, 1, 2, 0, 1, 0]);
    assert_eq!(
        f.evidence[1],
        "failed: sample.vitest.test.js.math > throws: boom <&>"
    );
}

#[test]
fn nextest_flaky_passes_and_rerun_failures_fail() {
    let f = run(&spec("junit/nextest.xml"));
    assert_eq!(facts(&f), [3, 2, 1, 0, 0, 1]);
    assert_eq!(
        f.evidence[0],
        "failed: nx-sample.tests::fails: thread 'tests::fails' (26010) panicked at src/lib.rs:8:9"
    );
    assert_eq!(
        f.evidence[1],
        "flaky (passed on a retry): nx-sample.tests::flaky"
    );
}

#[test]
fn surefire_and_go_junit_report_samples() {
    let f = run(&spec("junit/surefire.xml"));
    assert_eq!(facts(&f), [5, 2, 1, 1, 1, 1]);
    assert_eq!(
        f.evidence[1],
        // The report's folder is a base for the Maven layout: junit/src/test/java/….
        "error: com.acme.CartTest.connectsToDb (junit/src/test/java/com/acme/CartTest.java:44): \
         java.sql.SQLTransientConnectionException: pool exhausted"
    );
    let f = run(&spec("junit/go-junit-report.xml"));
    assert_eq!(facts(&f), [4, 2, 1, 0, 1, 0]);
    assert_eq!(
        f.evidence[0],
        "failed: example.com/shop/cart.TestTotal: Failed"
    );
}

#[test]
fn thresholds_flaky_patterns_and_many_files() {
    let mut s = spec("junit/*.xml");
    s.max_failures = 100;
    s.max_errors = 100;
    let f = run(&s);
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(f.facts["files"], 7);
    assert_eq!(f.explain.len(), 7);

    let mut s = spec("junit/pytest.xml");
    s.flaky = vec![
        "^tests\\.test_sample\\.test_fail$".into(),
        "^test_error$".into(),
        "method_fail".into(),
    ];
    let f = run(&s);
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(facts(&f), [6, 2, 0, 0, 1, 3]);
    assert_eq!(f.facts["tolerated"], 3);
    assert!(f.evidence[0].starts_with("tolerated (flaky pattern \"^tests\\\\.test_sample\\\\.test_fail$\"): tests.test_sample.test_fail"), "{}", f.evidence[0]);
    assert!(f.annotations.is_empty());

    let mut s = spec("junit/go-junit-report.xml");
    s.max_failures = 1;
    s.max_skipped = Some(0);
    let f = run(&s);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "1 failed, 0 errors of 4 tests, 1 skipped (max 1 failed, 0 errors, 0 skipped)"
    );
    s.max_skipped = None;
    s.min_tests = 5;
    let f = run(&s);
    assert_eq!(f.status, Status::Fail);
    assert!(f.reason.ends_with("; min 5 tests)"), "{}", f.reason);

    let mut s = spec("junit/pytest.xml");
    s.flaky = vec!["(".into()];
    assert!(matches!(
        run_in(&cx::evidence_dir(), &s),
        Err(Error::Usage(_))
    ));
}

#[test]
fn no_reports() {
    let f = run(&spec("junit/none/*.xml"));
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "no JUnit reports match junit/none/*.xml");
    let mut s = spec("junit/none/*.xml");
    s.min_tests = 0;
    assert_eq!(run(&s).status, Status::Pass);
}

#[test]
fn evidence_list_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut xml = String::from("<testsuites><testsuite name=\"s\">");
    for i in 0..120 {
        xml.push_str(&format!(
            "<testcase classname=\"c\" name=\"t{i}\"><failure message=\"m{i}\"/></testcase>"
        ));
    }
    xml.push_str("</testsuite></testsuites>");
    std::fs::write(dir.path().join("r.xml"), xml).expect("write");
    let f = run_in(dir.path(), &spec("r.xml")).expect("evaluates");
    assert_eq!(
        f.reason,
        "120 failed, 0 errors of 120 tests (max 0 failed, 0 errors)"
    );
    assert_eq!(f.evidence.len(), 21);
    assert_eq!(f.evidence[20], "… and 100 more failed tests");
    assert_eq!(f.annotations.len(), crate::finding::MAX_ANNOTATIONS);
}

fn refused(root: &Path, path: &str) -> (Option<usize>, String) {
    let (p, line, message) = cx::evidence_error(run_in(root, &spec(path)));
    assert!(p.ends_with(path), "{} names {path}", p.display());
    (line, message)
}

#[test]
fn hostile_files_are_refused_with_the_file_named() {
    let root = cx::evidence_dir();
    let h = |name: &str| refused(&root, &format!("junit/hostile/{name}"));
    assert_eq!(
        h("billion-laughs.xml"),
        (
            Some(2),
            "DTDs are not accepted (<!DOCTYPE>): entity definitions are refused".into()
        )
    );
    let (line, msg) = h("truncated.xml");
    assert!(
        line.is_some() && msg.contains("truncated") || msg.contains("well-formed"),
        "{line:?} {msg}"
    );
    assert!(h("utf16.xml").1.starts_with("encoded as UTF-16"));
    assert!(h("empty.xml").1.starts_with("empty file"));
    let (_, msg) = h("garbage.bin");
    assert!(!msg.is_empty());
    assert!(h("latin1.xml").1.contains("\"iso-8859-1\""));
    assert!(h("not-junit.xml").1.contains("root element <html>"));
}

#[test]
fn huge_attribute_and_deep_nesting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut xml = String::from("<testsuite name=\"s\"><testcase classname=\"c\" name=\"");
    xml.push_str(&"x".repeat(10 << 20));
    xml.push_str("\"/></testsuite>");
    std::fs::write(dir.path().join("huge.xml"), xml).expect("write");
    let (line, msg) = refused(dir.path(), "huge.xml");
    assert_eq!(line, Some(1));
    assert!(msg.contains("not a test report"), "{msg}");

    // A 1 MiB attribute is read and cut, not kept whole.
    let mut xml = String::from(
        "<testsuite name=\"s\"><testcase classname=\"c\" name=\"t\"><failure message=\"",
    );
    xml.push_str(&"y".repeat(1 << 20));
    xml.push_str("\"/></testcase></testsuite>");
    std::fs::write(dir.path().join("big.xml"), xml).expect("write");
    let f = run_in(dir.path(), &spec("big.xml")).expect("evaluates");
    assert!(
        f.evidence[0].chars().count() < 600,
        "{}",
        f.evidence[0].len()
    );

    // Nesting is counted, not recursed into.
    let xml = format!(
        "<testsuites>{}{}</testsuites>",
        "<testsuite>".repeat(100_000),
        "</testsuite>".repeat(100_000)
    );
    std::fs::write(dir.path().join("deep.xml"), xml).expect("write");
    let f = run_in(dir.path(), &spec("deep.xml")).expect("evaluates");
    assert_eq!(f.facts["tests"], 0);

    // Mismatched end tag.
    std::fs::write(
        dir.path().join("bad.xml"),
        "<testsuite>\n<testcase name=\"a\">\n</testsuite>",
    )
    .expect("write");
    let (line, msg) = refused(dir.path(), "bad.xml");
    assert_eq!(line, Some(3), "{msg}");
}

#[test]
fn a_cobertura_file_caught_by_the_glob_is_named_not_counted() {
    let dir = tempfile::tempdir().expect("tmp");
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    std::fs::write(
        reports.join("coverage.xml"),
        "<?xml version=\"1.0\"?>\n<coverage line-rate=\"0.9\"><packages/></coverage>\n",
    )
    .expect("write");
    // Only the coverage file: no test results at all is a failure, and says why.
    let f = run_in(dir.path(), &spec("reports/**/*.xml")).expect("evaluates");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with("skipped reports/coverage.xml: a Cobertura coverage report")),
        "{:?}",
        f.evidence
    );
    std::fs::write(
        reports.join("junit.xml"),
        "<testsuite tests=\"1\"><testcase classname=\"t\" name=\"ok\"/></testsuite>\n",
    )
    .expect("write");
    let f = run_in(dir.path(), &spec("reports/**/*.xml")).expect("evaluates");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.facts["files"], 1);
    assert!(
        f.evidence.iter().any(|e| e.contains("coverage.xml")),
        "{:?}",
        f.evidence
    );
}

/// A scratch checkout holding `files` (empty), with the report copied to `reports/r.xml`.
fn checkout(report: &str, files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("reports")).expect("mkdir");
    std::fs::copy(
        cx::evidence_dir().join("junit").join(report),
        dir.path().join("reports/r.xml"),
    )
    .expect("copy");
    for f in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "").expect("write");
    }
    dir
}

fn places(f: &Finding) -> Vec<(Option<&str>, Option<u32>)> {
    f.annotations
        .iter()
        .map(|a| (a.file.as_deref(), a.line))
        .collect()
}

#[test]
fn pytest_default_output_is_located_from_the_traceback() {
    // Issue 13 item 11: pytest's default (xunit2) report has no file/line attributes; the
    // traceback's `path:line: Error` lines do. The innermost frame in the repository wins.
    let root = cx::evidence_dir().join("junit/pytest-project");
    let f = run_in(&root, &spec("pytest-nested.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("tests/test_cart.py"), Some(7)),
            (Some("src/shop/cart.py"), Some(3)),
        ]
    );
    assert_eq!(
        f.evidence,
        [
            "failed: tests.test_cart.test_total (tests/test_cart.py:7): assert 43 == 42",
            "failed: tests.test_cart.test_empty (src/shop/cart.py:3): ValueError: empty cart",
        ]
    );
    // `--tb=native`, run in another folder (/build) with a virtualenv outside: pytest's and
    // pluggy's site-packages frames are skipped, /build/… is matched to the checkout.
    let f = run_in(&root, &spec("pytest-native.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("tests/test_cart.py"), Some(7)),
            (Some("src/shop/cart.py"), Some(3)),
        ]
    );

    let dir = checkout("pytest.xml", &["tests/test_sample.py"]);
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("tests/test_sample.py"), Some(14)),
            (Some("tests/test_sample.py"), Some(6)),
            (Some("tests/test_sample.py"), Some(31)),
        ]
    );
    // pytest run in backend/: its paths are relative to backend/, found from the report's
    // folder.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("backend/reports")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("backend/tests")).expect("mkdir");
    std::fs::write(dir.path().join("backend/tests/test_sample.py"), "").expect("write");
    std::fs::copy(
        cx::evidence_dir().join("junit/pytest.xml"),
        dir.path().join("backend/reports/junit.xml"),
    )
    .expect("copy");
    let f = run_in(dir.path(), &spec("backend/reports/*.xml")).expect("evaluates");
    assert_eq!(
        places(&f)[0],
        (Some("backend/tests/test_sample.py"), Some(14))
    );
}

#[test]
fn each_dialects_default_output_is_located() {
    // Jest: a `file` attribute without a line; the stack frame in that file gives the line.
    let dir = checkout("jest.xml", &["sample.test.js"]);
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("sample.test.js"), Some(3)),
            (Some("sample.test.js"), Some(5))
        ]
    );
    // Vitest: `❯ file:line:col`.
    let dir = checkout("vitest.xml", &["sample.vitest.test.js"]);
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("sample.vitest.test.js"), Some(4)),
            (Some("sample.vitest.test.js"), Some(6))
        ]
    );
    // go test: a bare file name, found in the package's folder.
    let dir = checkout("go-junit-report.xml", &["shop/cart/cart_test.go"]);
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(places(&f), [(Some("shop/cart/cart_test.go"), Some(21))]);
    assert_eq!(
        f.evidence[0],
        "failed: example.com/shop/cart.TestTotal (shop/cart/cart_test.go:21): Failed"
    );
    // cargo-nextest: the panic location, not the toolchain's frames.
    let dir = checkout("nextest.xml", &["src/lib.rs"]);
    let f = run_in(dir.path(), &spec("reports/*.xml")).expect("evaluates");
    assert_eq!(places(&f), [(Some("src/lib.rs"), Some(8))]);
    // Surefire: the frame of the test class, under the Maven source folder.
    let f = run_in(&cx::evidence_dir().join("junit"), &spec("surefire.xml")).expect("evaluates");
    assert_eq!(
        places(&f),
        [
            (Some("src/test/java/com/acme/CartTest.java"), Some(31)),
            (Some("src/test/java/com/acme/CartTest.java"), Some(44)),
        ]
    );
}

#[test]
fn frames_outside_the_checkout_are_never_used() {
    let dir = tempfile::tempdir().expect("tmp");
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(outside.path().join("conftest.py"), "").expect("write");
    let xml = format!(
        "<testsuite name=\"pytest\"><testcase classname=\"t\" name=\"a\"><failure message=\"m\">\
         ../../etc/passwd:3: Error\n{}/conftest.py:4: Error\n/etc/hostname:1:1\n\
         missing/test_x.py:5: AssertionError</failure></testcase></testsuite>",
        outside.path().display()
    );
    std::fs::write(dir.path().join("r.xml"), xml).expect("write");
    let f = run_in(dir.path(), &spec("r.xml")).expect("evaluates");
    assert_eq!(places(&f), [(None, None)]);
    assert_eq!(f.evidence, ["failed: t.a: m"]);
}
