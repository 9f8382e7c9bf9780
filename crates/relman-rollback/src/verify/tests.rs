//! Rounds against a loopback service that comes back, or does not (`relman_probe::testing`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use relman_core::config::{HttpCheck, PrometheusCheck};
use relman_probe::testing::{closed, serve_with, vector};

use super::*;
use crate::testing::FakeClock;

/// A service whose `/healthz` answers 503 for its first `bad` requests, then 200.
fn coming_back(bad: usize) -> relman_probe::testing::Server {
    let hits = Arc::new(AtomicUsize::new(0));
    serve_with(move |target| {
        let path = target.split('?').next().unwrap_or_default();
        match path {
            "/healthz" if hits.fetch_add(1, Ordering::SeqCst) < bad => {
                (503, String::new(), "starting".into())
            }
            "/healthz" => (200, String::new(), "ok".into()),
            "/api/v1/query" => (200, String::new(), vector(&["0.001"])),
            _ => (404, String::new(), String::new()),
        }
    })
}

fn http(url: String) -> HttpCheck {
    HttpCheck {
        url,
        status: 200,
        timeout_seconds: 1,
    }
}

fn plan(http: Vec<HttpCheck>, prometheus: Vec<PrometheusCheck>, within: u64) -> Verify {
    Verify {
        http,
        prometheus,
        within: Duration::from_secs(within),
        every: Duration::from_secs(15),
    }
}

fn run(v: &Verify) -> (Verification, FakeClock, String) {
    let clock = FakeClock::default();
    let mut progress = Vec::new();
    let got = verify(v, &Verify::round, &clock, &mut progress);
    (got, clock, String::from_utf8_lossy(&progress).into_owned())
}

#[test]
fn a_service_that_comes_back_within_the_window_is_verified() {
    let s = coming_back(2);
    let v = plan(
        vec![http(format!("{}/healthz", s.base))],
        vec![PrometheusCheck {
            url: s.base.clone(),
            query: "sum(rate(errors[1m]))".into(),
            min: None,
            max: Some(0.01),
            require_data: true,
            timeout_seconds: 1,
        }],
        300,
    );
    let (got, clock, progress) = run(&v);
    assert!(got.passed, "{got:?}");
    assert_eq!(got.rounds, 3);
    assert_eq!(
        clock.elapsed(),
        Duration::from_secs(30),
        "two pauses of 15s"
    );
    assert_eq!(got.summary, "2 checks passed (round 3, after 30s)");
    assert!(
        got.evidence[0].starts_with(&format!("GET {}/healthz → 200 in ", s.base)),
        "{got:?}"
    );
    assert_eq!(
        got.facts["prometheus"][0]["values"],
        serde_json::json!([0.001])
    );
    assert!(
        progress.contains("rollback: verify round 1: 1 of 2 checks failed: GET ")
            && progress.contains("→ 503, expected 200")
            && progress.contains("next round in 15s (0s of 5m)"),
        "{progress}"
    );
    assert!(progress.ends_with("rollback: verified: 2 checks passed (round 3, after 30s)\n"));
}

#[test]
fn a_service_still_failing_when_the_window_closes_fails_with_the_probes_explanation() {
    let s = coming_back(usize::MAX);
    let v = plan(vec![http(format!("{}/healthz", s.base))], Vec::new(), 60);
    let (got, clock, _) = run(&v);
    assert!(!got.passed, "{got:?}");
    assert_eq!(got.rounds, 5, "at 0, 15, 30, 45 and 60 s");
    assert_eq!(clock.elapsed(), Duration::from_secs(60));
    assert!(
        got.summary.starts_with(&format!(
            "1 of 1 check failed: GET {}/healthz → 503, expected 200 in ",
            s.base
        )) && got
            .summary
            .ends_with("(still failing after 5 rounds over 1m)"),
        "{}",
        got.summary
    );
}

#[test]
fn a_probe_that_cannot_tell_fails_the_verification() {
    // Fail closed: monitoring that does not answer does not verify anything.
    let down = closed();
    let v = plan(
        Vec::new(),
        vec![PrometheusCheck {
            url: down.clone(),
            query: "up".into(),
            min: Some(1.0),
            max: None,
            require_data: true,
            timeout_seconds: 1,
        }],
        0,
    );
    let (got, clock, _) = run(&v);
    assert!(!got.passed, "{got:?}");
    assert_eq!(
        (got.rounds, clock.elapsed()),
        (1, Duration::ZERO),
        "`within: 0s` is one round"
    );
    assert!(
        got.summary
            .starts_with(&format!("1 of 1 check failed: query `up` on {down} → ")),
        "{}",
        got.summary
    );
    assert_eq!(got.facts["prometheus"][0]["ok"], false);

    // Nothing to run is not a pass either.
    let (got, _, _) = run(&plan(Vec::new(), Vec::new(), 0));
    assert!(!got.passed);
}

#[test]
fn the_plan_is_said_with_secrets_redacted() {
    let v = plan(
        vec![http(
            "https://bob:hunter2@shop.example/healthz?token=abc".into(),
        )],
        Vec::new(),
        300,
    );
    assert_eq!(
        v.describe(),
        [
            "GET https://shop.example/healthz?token=*** answers 200 (within 1 s)",
            "every check passing in one round, a round every 15s for up to 5m",
        ]
    );
}
