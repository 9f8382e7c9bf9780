//! The probes against a tiny HTTP server on a loopback port ([`crate::testing`]). Moved here
//! from the gate's monitoring tests with the code; the gate keeps the tests of its finding.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::testing::{NOW_UNIX, http, prometheus, serve};
use crate::{HttpCheck, Outcome, Outcomes, PrometheusCheck, run};

const NOW: &str = "2026-09-20T12:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().expect("now")
}

fn one_http(check: HttpCheck) -> Outcome {
    run(&[check], &[], now()).http.remove(0)
}

fn one_query(check: PrometheusCheck) -> Outcome {
    run(&[], &[check], now()).prometheus.remove(0)
}

#[test]
fn a_slow_endpoint_times_out_as_a_failure() {
    let s = serve();
    let start = Instant::now();
    let o = one_http(http(format!("{}/slow", s.base)));
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    assert!(!o.ok, "{o:?}");
    assert_eq!(
        o.evidence,
        format!("GET {}/slow → timed out after 1 s", s.base)
    );
    assert_eq!(o.fact["error"], "timed out after 1 s");
    assert_eq!(o.fact["status"], serde_json::Value::Null);
}

#[test]
fn redirects_are_followed_up_to_three_and_reported() {
    let s = serve();
    let o = one_http(http(format!("{}/old", s.base)));
    assert!(o.ok, "{o:?}");
    assert!(
        o.evidence
            .starts_with(&format!("GET {0}/old → 200 at {0}/healthz in ", s.base)),
        "{o:?}"
    );

    let o = one_http(http(format!("{}/loop", s.base)));
    assert!(!o.ok, "{o:?}");
    assert!(o.evidence.contains("→ 302"), "{o:?}");
    assert_eq!(s.hits("/loop"), 4, "the request and three redirects");
}

#[test]
fn secrets_in_urls_are_not_printed() {
    let s = serve();
    let url = s.base.replace("http://", "http://bob:hunter2@") + "/healthz?api_key=abc123&v=1";
    let o = one_http(http(url.clone()));
    let printed = format!("{} {}", o.evidence, o.fact);
    assert!(
        !printed.contains("hunter2") && !printed.contains("abc123"),
        "{printed}"
    );
    assert!(
        o.evidence
            .starts_with(&format!("GET {}/healthz?api_key=***&v=1 → 200 in ", s.base)),
        "{o:?}"
    );
    let said = crate::describe_http(&http(url));
    assert_eq!(
        said,
        format!(
            "GET {}/healthz?api_key=***&v=1 answers 200 (within 1 s)",
            s.base
        )
    );
}

#[test]
fn prometheus_samples_within_and_over_the_threshold() {
    let s = serve();
    let o = one_query(prometheus(format!("{}/within/", s.base), Some(0.05)));
    assert!(o.ok, "{o:?}");
    assert!(
        o.evidence.contains(
            r#"→ 2 samples ({instance="i0"} 0.01, {instance="i1"} 0.02) within max 0.05 in "#
        ),
        "{o:?}"
    );
    assert_eq!(o.fact["values"], json!([0.01, 0.02]));
    assert_eq!(
        o.fact["query"],
        r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#
    );
    let target = s.log.lock().expect("log")[0].clone();
    assert!(
        target.starts_with("/within/api/v1/query?query=sum"),
        "{target}"
    );
    assert!(!target.contains(['"', '{', ' ']), "encoded: {target}");
    assert!(target.ends_with(&format!("&time={NOW_UNIX}")), "{target}");

    let o = one_query(prometheus(format!("{}/over", s.base), Some(0.05)));
    assert!(!o.ok, "{o:?}");
    assert!(
        o.evidence
            .contains(r#"→ 1 of 2 samples outside max 0.05: ({instance="i1"} 0.3) in "#),
        "{o:?}"
    );
    assert_eq!(o.fact["ok"], false);
}

#[test]
fn nan_and_infinity_fail_bounds_and_stay_readable_in_facts() {
    let s = serve();
    let o = one_query(prometheus(format!("{}/odd", s.base), Some(10.0)));
    assert!(!o.ok, "{o:?}");
    assert_eq!(o.fact["values"], json!(["NaN", "+Inf"]));
    assert!(
        o.evidence.contains("2 of 2 samples outside max 10"),
        "{o:?}"
    );

    assert!(one_query(prometheus(format!("{}/odd", s.base), None)).ok);
}

#[test]
fn an_empty_vector_fails_only_when_data_is_required() {
    let s = serve();
    let o = one_query(prometheus(format!("{}/empty", s.base), Some(1.0)));
    assert!(!o.ok, "{o:?}");
    assert!(
        o.evidence.contains("→ no data (a sample is required) in "),
        "{o:?}"
    );

    let optional = PrometheusCheck {
        require_data: false,
        ..prometheus(format!("{}/empty", s.base), Some(1.0))
    };
    assert!(one_query(optional).ok);
}

#[test]
fn a_scalar_is_one_sample() {
    let s = serve();
    let check = PrometheusCheck {
        min: Some(2.0),
        ..prometheus(format!("{}/scalar", s.base), Some(5.0))
    };
    let o = one_query(check.clone());
    assert!(o.ok, "{o:?}");
    assert!(
        o.evidence.contains("→ 1 sample (3) within [2, 5] in "),
        "{o:?}"
    );
    assert_eq!(o.fact["values"], json!([3.0]));
    assert_eq!(
        crate::describe_prometheus(&check),
        format!(
            "query `{}` on {}/scalar: every sample [2, 5], at least one sample (within 2 s)",
            check.query, s.base
        )
    );
}

#[test]
fn errors_and_unusable_answers_fail_with_their_reason() {
    let s = serve();
    let cases = [
        (
            "error",
            "Prometheus error (bad_data): 1:5: parse error: unexpected end of input",
        ),
        (
            "garbage",
            "malformed response: expected value at line 1 column 1",
        ),
        ("gateway", "HTTP 502"),
        (
            "matrix",
            "result type `matrix`: only instant vectors and scalars",
        ),
    ];
    for (path, expected) in cases {
        let o = one_query(prometheus(format!("{}/{path}", s.base), Some(1.0)));
        assert!(!o.ok, "{path}: {o:?}");
        assert!(o.evidence.contains(expected), "{path}: {o:?}");
        assert_eq!(o.fact["ok"], false);
        assert!(
            o.fact["error"]
                .as_str()
                .is_some_and(|e| e.contains(expected))
        );
    }
}

#[test]
fn no_checks_do_not_pass() {
    // Nothing asked tells nothing: a caller must not read an empty run as healthy.
    assert!(!Outcomes::default().passed());
}
