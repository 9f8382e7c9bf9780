//! Results from hyperfine (real runs) and hand-written criterion, cargo-criterion and generic
//! files; see `tests/evidence/benchmark/README.md`.

use std::path::{Path, PathBuf};

use relman_core::config::BenchmarkGate;
use relman_forge::LocalStore;

use super::*;
use crate::context::Change;
use crate::evidence::report_text::test_context::evidence_error;

fn evidence() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence/benchmark")
}

fn spec(paths: &[&str], baseline: &[&str], max: f64) -> BenchmarkGate {
    BenchmarkGate {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        baseline: baseline.iter().map(|p| p.to_string()).collect(),
        max_regression: max,
        require_baseline: false,
        baseline_at_release: false,
        // The mean rule, as these tests were written for; statistics are tested below.
        method: relman_core::config::BenchmarkMethod::Mean,
        ..BenchmarkGate::default()
    }
}

fn run(spec: &BenchmarkGate, root: &Path) -> Result<Finding, Error> {
    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(store_dir.path()).expect("store");
    let cx = Context::for_test(&store, root);
    evaluate(spec, &cx)
}

const CRITERION_NEW: &str = "criterion/current/criterion/**/estimates.json";
const CRITERION_BASE: &str = "criterion/baseline/criterion/**/base/estimates.json";

#[test]
fn hyperfine_runs_compare_by_command() {
    let s = spec(
        &["hyperfine-current.json"],
        &["hyperfine-baseline.json"],
        10.0,
    );
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.reason,
        "1 of 2 benchmarks regressed more than 10%: sleep $D +47.26%"
    );
    assert_eq!(f.facts["benchmarks"], 2);
    assert_eq!(f.facts["worst_regression_percent"], 47.26);
    assert_eq!(f.facts["regressions"][0]["name"], "sleep $D");
    assert_eq!(f.facts["regressions"][0]["unit"], "ns");
    assert_eq!(
        f.evidence,
        [
            "sleep $D: 22.2 ms → 32.6 ms (+47.26%) (over the limit)",
            "sleep 0.01: 11.4 ms → 11.4 ms (+0.27%)",
        ]
    );
    assert_eq!(
        f.explain,
        [
            "results: read hyperfine-current.json (hyperfine JSON, 2 benchmarks)",
            "baseline: read hyperfine-baseline.json (hyperfine JSON, 2 benchmarks)",
        ]
    );
}

#[test]
fn the_limit_holds_at_its_boundary() {
    // parse/large went from 812 µs to 1015 µs: exactly +25%.
    let f = run(
        &spec(&[CRITERION_NEW], &[CRITERION_BASE], 25.0),
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(
        f.reason,
        "3 benchmarks within 25% of the baseline (worst: parse/large +25.00%)"
    );
    let f = run(
        &spec(&[CRITERION_NEW], &[CRITERION_BASE], 24.99),
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.facts["regressions"][0]["percent"], 25.0);
}

#[test]
fn criterion_names_skip_change_estimates_and_list_improvements() {
    let f = run(
        &spec(&[CRITERION_NEW], &[CRITERION_BASE], 30.0),
        &evidence(),
    )
    .expect("run");
    assert_eq!(
        f.evidence,
        [
            "parse/large: 812 µs → 1015 µs (+25.00%)",
            "parse/small: 1.25 µs → 1.30 µs (+4.00%)",
            "render: 40.0 µs → 36.0 µs (-10.00%)",
        ]
    );
    assert!(
        f.explain
            .iter()
            .any(|e| e.contains("skipped criterion/current/criterion/render/change/estimates.json")),
        "{:?}",
        f.explain
    );
}

#[test]
fn cargo_criterion_messages_serve_as_a_baseline_for_estimates() {
    let f = run(
        &spec(&[CRITERION_NEW], &["cargo-criterion.jsonl"], 30.0),
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(f.facts["benchmarks"], 3);
    assert_eq!(f.facts["worst_regression_percent"], 26.88);
    assert!(
        f.explain[4].contains("cargo-criterion messages, 3 benchmarks"),
        "{:?}",
        f.explain
    );
}

#[test]
fn generic_results_convert_time_units_and_honour_higher_is_better() {
    let s = spec(&["generic-current.json"], &["generic-baseline.json"], 10.0);
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "1 of 2 benchmarks regressed more than 10%: requests +12.00%"
    );
    assert_eq!(
        f.evidence,
        [
            "requests: 5000 req/s → 4400 req/s (+12.00%) (over the limit)",
            "startup: 120 ms → 126 ms (+5.00%)",
            "not in the baseline: memory",
            "in the baseline only: binary size",
        ]
    );
    assert_eq!(f.facts["without_baseline"], json!(["memory"]));
    assert_eq!(f.facts["missing"], json!(["binary size"]));
}

#[test]
fn require_baseline_fails_on_unmatched_benchmarks() {
    let mut s = spec(&["generic-current.json"], &["generic-baseline.json"], 20.0);
    assert_eq!(run(&s, &evidence()).expect("run").status, Status::Pass);
    s.require_baseline = true;
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "1 without a baseline, 1 baseline benchmarks missing (require_baseline)"
    );
}

#[test]
fn no_baseline_cannot_tell_and_fails() {
    let mut s = spec(&["hyperfine-current.json"], &["nowhere/*.json"], 5.0);
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "no baseline to compare 2 benchmarks with: cannot tell whether they regressed"
    );
    assert_eq!(f.facts["worst_regression_percent"], serde_json::Value::Null);
    s.require_baseline = true;
    assert_eq!(run(&s, &evidence()).expect("run").status, Status::Fail);
}

#[test]
fn huge_files_and_devices_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Sparse: 65 MiB on paper, nothing on disk.
    let big = std::fs::File::create(dir.path().join("big.json")).expect("create");
    big.set_len(super::formats::MAX_BENCHMARK_BYTES + 1)
        .expect("set_len");
    let (path, _, message) = evidence_error(run(&spec(&["big.json"], &[], 5.0), dir.path()));
    assert_eq!(path, Path::new("big.json"));
    assert!(
        message.contains("larger than 67108864: refused"),
        "{message}"
    );
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).expect("symlink");
    let started = std::time::Instant::now();
    let result = run(&spec(&["zero.json"], &[], 5.0), dir.path());
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    match result {
        Err(Error::Evidence { path, message, .. }) => {
            assert_eq!(path, Path::new("zero.json"));
            assert!(message.contains("not a regular file"), "{message}");
        }
        // A symlink out of the checkout is refused before anything is opened (exit 2).
        Err(Error::Usage(message)) => {
            assert!(message.contains("outside the repository"), "{message}")
        }
        // A finder that skips what is not a file finds no results: a no-go, not a read.
        Ok(f) => assert_eq!(f.status, Status::Fail, "{f:?}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn no_results_fail() {
    let f = run(&spec(&["nowhere/*.json"], &[], 5.0), &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "no benchmark results in nowhere/*.json");
}

#[test]
fn the_same_benchmark_twice_is_an_error() {
    let (path, _, message) = evidence_error(run(
        &spec(&["criterion/*/criterion/**/estimates.json"], &[], 5.0),
        &evidence(),
    ));
    assert_eq!(
        path,
        Path::new("criterion/current/criterion/parse/large/new/estimates.json")
    );
    assert!(message.contains("also in criterion/baseline/"), "{message}");
}

#[test]
fn incomparable_units_are_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.json"),
        r#"{"benchmarks":[{"name":"x","value":1,"unit":"ms"}]}"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.json"),
        r#"{"benchmarks":[{"name":"x","value":1,"unit":"ops"}]}"#,
    )
    .expect("write");
    let (path, _, message) = evidence_error(run(&spec(&["a.json"], &["b.json"], 5.0), dir.path()));
    assert_eq!(path, Path::new("a.json"));
    assert_eq!(message, "x: unit ns here, ops in the baseline b.json");
}

#[test]
fn malformed_files_are_located_errors() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        (
            "hyperfine-string-mean.json",
            Some(49),
            "results[1].mean: invalid type: string \"fast\", expected f64",
        ),
        ("truncated.json", Some(27), "not JSON: EOF while parsing"),
        ("empty.json", None, "empty file"),
        ("utf16.json", Some(1), "not UTF-8"),
        ("unknown-shape.json", None, "not a benchmark result"),
        (
            "negative.json",
            None,
            "a: value -1 is not a non-negative number",
        ),
        (
            "bad-message-line.jsonl",
            Some(2),
            "typical.estimate: invalid type: string \"12\"",
        ),
        (
            "no-criterion-dir/new/estimates.json",
            None,
            "…/criterion/<benchmark id>/new",
        ),
    ];
    for &(file, line, message) in cases {
        let rel = format!("malformed/{file}");
        let (path, got_line, got) = evidence_error(run(&spec(&[&rel], &[], 5.0), &evidence()));
        assert_eq!(path, Path::new(&rel), "{file}");
        assert!(got.contains(message), "{file}: {got}");
        assert_eq!(got_line, line, "{file}: {got}");
    }
}

#[test]
fn the_baseline_can_be_the_results_committed_at_the_last_release() {
    let results =
        |v: f64| format!(r#"{{"benchmarks":[{{"name":"parse","value":{v},"unit":"ms"}}]}}"#);
    let mut repo = crate::diff::fixture::Fixture::new();
    repo.write("bench/results.json", results(100.0));
    repo.commit("feat: first");
    repo.git(&["tag", "v1.0.0"]);
    // After the release the committed file changes, and the run measures anew.
    repo.write("bench/results.json", results(90.0));
    repo.commit("perf: faster");
    repo.write("bench/results.json", results(125.0));
    let root = repo.root();

    let spec = BenchmarkGate {
        baseline_at_release: true,
        ..spec(&["bench/results.json"], &["bench/results.json"], 10.0)
    };
    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(store_dir.path()).expect("store");
    let change = crate::diff::change(root, None, "HEAD", "v").expect("change");
    assert_eq!(change.base.as_deref(), Some("v1.0.0"));
    let cx = Context {
        change,
        ..Context::for_test(&store, root)
    };
    let f = evaluate(&spec, &cx).expect("evaluate");
    // Against v1.0.0's 100 ms (not the working tree's file, not HEAD's 90 ms): +25 %.
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(f.facts["worst_regression_percent"], 25.0, "{f:?}");
    assert!(
        f.explain
            .iter()
            .any(|e| e.contains("as committed at v1.0.0")),
        "{:?}",
        f.explain
    );

    // A first release has no baseline: nothing to regress against.
    let first = Context {
        change: Change::default(),
        ..cx
    };
    let f = evaluate(&spec, &first).expect("evaluate");
    assert_eq!(f.status, Status::Pass, "{f:?}");
}

fn method(s: BenchmarkGate, m: relman_core::config::BenchmarkMethod) -> BenchmarkGate {
    BenchmarkGate { method: m, ..s }
}

use relman_core::config::BenchmarkMethod;

#[test]
fn the_same_code_on_a_loaded_runner_is_not_a_regression_with_statistics() {
    // Issue 13 item 14: two hyperfine runs of the same script on this (shared, loaded) machine;
    // see tests/evidence/benchmark/README.md. By the means the second is 7.92% slower.
    let s = spec(
        &["loaded/same-code-1.json"],
        &["loaded/same-code-2.json"],
        5.0,
    );
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
    assert_eq!(
        f.reason,
        "1 of 1 benchmarks regressed more than 5%: python3 burn.py +7.92%"
    );
    // The default (auto): every run's time is there, so the slowdown must be shown with 95%
    // confidence, and the interval reaches below zero.
    let f = run(&method(s.clone(), BenchmarkMethod::Auto), &evidence()).expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert_eq!(
        f.evidence,
        [
            "python3 burn.py: mean 353 ms → 381 ms; +8.89%, 95% CI -0.98% … +18.66%, \
          Hodges–Lehmann, Mann–Whitney interval over 30/30 runs (not significant)"
        ]
    );
    assert_eq!(f.facts["method"], "auto");
    assert_eq!(f.facts["statistical"], 1);
    assert!(
        f.explain.iter().any(|e| e
            == "1 of 1 compared with statistics at 95% confidence; 0 by their means \
                          (no samples or standard errors on both sides, or too few samples)"),
        "{:?}",
        f.explain
    );
}

#[test]
fn a_real_slowdown_is_a_regression_with_statistics_too() {
    // A third more work per run: slower beyond 5% with 95% confidence.
    let s = BenchmarkGate {
        method: BenchmarkMethod::Statistical,
        ..spec(
            &["loaded/slower-code.json"],
            &["loaded/same-code-1.json"],
            5.0,
        )
    };
    let f = run(&s, &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
    assert_eq!(
        f.reason,
        "1 of 1 benchmarks regressed more than 5% (at 95% confidence): python3 burn.py +12.86%"
    );
    assert_eq!(f.facts["regressions"][0]["ci_low_percent"], 5.66);
    assert_eq!(f.facts["regressions"][0]["ci_high_percent"], 20.61);
    assert!(
        f.evidence[0].ends_with("(over the limit)"),
        "{:?}",
        f.evidence
    );
    // Over 10% by its estimate, but not surely: the interval starts at +5.66%.
    let f = run(
        &BenchmarkGate {
            max_regression: 10.0,
            ..s.clone()
        },
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    // A stricter confidence widens the interval.
    let f = run(
        &BenchmarkGate {
            confidence: 0.9999,
            ..s
        },
        &evidence(),
    )
    .expect("run");
    let low = f.facts["regressions"][0]["ci_low_percent"].as_f64();
    assert!(low.is_none_or(|l| l < 5.66), "{:?}", f.facts);
}

#[test]
fn criterion_standard_errors_give_an_interval() {
    // parse/large: +25% with 1% standard errors on each side: 95% CI +21.58% … +28.51%.
    let s = |max: f64| BenchmarkGate {
        method: BenchmarkMethod::Auto,
        ..spec(&[CRITERION_NEW], &[CRITERION_BASE], max)
    };
    let f = run(&s(20.0), &evidence()).expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
    assert_eq!(
        f.evidence[0],
        "parse/large: mean 812 µs → 1015 µs; +25.00%, 95% CI +21.58% … +28.51%, from the \
         means' standard errors (over the limit)"
    );
    let f = run(&s(22.0), &evidence()).expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
    assert!(
        f.evidence[0].ends_with("(not significant)"),
        "{:?}",
        f.evidence
    );
    let f = run(
        &BenchmarkGate {
            method: BenchmarkMethod::Mean,
            ..s(22.0)
        },
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
}

#[test]
fn statistical_method_cannot_tell_without_samples() {
    // The generic files carry values only: `statistical` fails closed, `auto` uses the means.
    let s = spec(
        &["generic-current.json"],
        &["generic-baseline.json"],
        1000.0,
    );
    let f = run(
        &method(s.clone(), BenchmarkMethod::Statistical),
        &evidence(),
    )
    .expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
    assert!(
        f.reason
            .starts_with("cannot tell whether 2 benchmarks regressed: no samples"),
        "{}",
        f.reason
    );
    let f = run(&method(s, BenchmarkMethod::Auto), &evidence()).expect("run");
    assert_eq!(f.status, Status::Pass, "{}", f.reason);
}

#[test]
fn criterion_sample_json_and_generic_samples_are_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let put = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    let estimates =
        |mean: f64| format!(r#"{{"mean":{{"point_estimate":{mean},"standard_error":1.0}}}}"#);
    // Ten samples of 10 iterations each: per-iteration times 100..109 ns, then 1.5 times that.
    let samples = |scale: f64| {
        let times: Vec<String> = (0..10)
            .map(|i| format!("{}", (1000.0 + 10.0 * f64::from(i)) * scale))
            .collect();
        format!(
            r#"{{"sampling_mode":"Linear","iters":[{}],"times":[{}]}}"#,
            ["10.0"; 10].join(","),
            times.join(",")
        )
    };
    put("base/criterion/b/base/estimates.json", &estimates(104.5));
    put("base/criterion/b/base/sample.json", &samples(1.0));
    put("cur/criterion/b/new/estimates.json", &estimates(156.75));
    put("cur/criterion/b/new/sample.json", &samples(1.5));
    let s = BenchmarkGate {
        method: BenchmarkMethod::Statistical,
        ..spec(
            &["cur/**/estimates.json"],
            &["base/**/estimates.json"],
            10.0,
        )
    };
    let f = run(&s, dir.path()).expect("run");
    assert_eq!(f.status, Status::Fail, "{}", f.reason);
    assert!(
        f.evidence[0].contains("+50.00%") && f.evidence[0].contains("over 10/10 runs"),
        "{:?}",
        f.evidence
    );
    // A sample.json that does not match its estimates is a located error.
    put(
        "cur/criterion/b/new/sample.json",
        r#"{"iters":[1.0,2.0],"times":[3.0]}"#,
    );
    let (path, _, msg) = evidence_error(run(&s, dir.path()));
    assert!(
        path.ends_with("cur/criterion/b/new/sample.json"),
        "{}",
        path.display()
    );
    assert!(msg.contains("2 iteration counts for 1 times"), "{msg}");

    put(
        "g.json",
        r#"{"benchmarks":[{"name":"x","value":10,"unit":"ms","samples":[10,10.5,9.5,10,10.2]}]}"#,
    );
    put(
        "h.json",
        r#"{"benchmarks":[{"name":"x","value":10,"unit":"ms","samples":[10,0,9.5]}]}"#,
    );
    let (_, _, msg) = evidence_error(run(&spec(&["h.json"], &["g.json"], 5.0), dir.path()));
    assert!(msg.contains("sample 0 is not a positive number"), "{msg}");
}
