//! The gate against a tiny HTTP server on a loopback port, answering canned responses
//! (`relman_probe::testing`). The probes' own tests (timeouts, redirects, Prometheus answers)
//! moved to `relman-probe` with the code; these hold the gate's finding: its reason, evidence
//! and facts.

use relman_core::config::{HttpCheck, MonitoringGate, PrometheusCheck};
use relman_forge::LocalStore;
use relman_probe::testing::{closed, http, prometheus, serve};
use serde_json::json;

use super::evaluate;
use crate::{Context, Finding, Status};

const NOW: &str = "2026-09-20T12:00:00Z";

fn run(gate: &MonitoringGate) -> Finding {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let cx = Context {
        now: NOW.parse().expect("now"),
        ..Context::for_test(&store, dir.path())
    };
    evaluate(gate, &cx).expect("evaluate")
}

fn only_http(checks: Vec<HttpCheck>) -> MonitoringGate {
    MonitoringGate {
        http: checks,
        prometheus: Vec::new(),
    }
}

fn only_prometheus(checks: Vec<PrometheusCheck>) -> MonitoringGate {
    MonitoringGate {
        http: Vec::new(),
        prometheus: checks,
    }
}

#[test]
fn a_healthy_endpoint_passes_and_a_503_fails() {
    let s = serve();
    let f = run(&only_http(vec![http(format!("{}/healthz", s.base))]));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.reason, "1 monitoring check passed");
    let line = &f.evidence[0];
    assert!(
        line.starts_with(&format!("GET {}/healthz → 200 in ", s.base)),
        "{line}"
    );
    assert!(line.ends_with(" ms"), "{line}");
    assert_eq!(
        f.facts["http"][0],
        json!({"url": format!("{}/healthz", s.base), "status": 200, "ok": true, "error": null})
    );

    let f = run(&only_http(vec![
        http(format!("{}/healthz", s.base)),
        http(format!("{}/down", s.base)),
    ]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.reason.starts_with(&format!(
            "1 of 2 monitoring checks failed: GET {}/down → 503, expected 200",
            s.base
        )),
        "{}",
        f.reason
    );
    assert_eq!(f.facts["http"][1]["status"], 503);
    assert_eq!(f.facts["http"][1]["ok"], false);

    let expect_503 = HttpCheck {
        status: 503,
        ..http(format!("{}/down", s.base))
    };
    assert_eq!(run(&only_http(vec![expect_503])).status, Status::Pass);
}

#[test]
fn unreachable_monitoring_is_a_failure_not_an_error() {
    // A port that was just free: nothing listens there.
    let url = closed();
    let f = run(&MonitoringGate {
        http: vec![http(format!("{url}/healthz"))],
        prometheus: vec![prometheus(url, Some(1.0))],
    });
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.reason.starts_with("2 of 2 monitoring checks failed"),
        "{}",
        f.reason
    );
    assert_eq!(f.facts["prometheus"][0]["ok"], false);
}

#[test]
fn secrets_in_urls_are_not_printed() {
    let s = serve();
    let url = s.base.replace("http://", "http://bob:hunter2@") + "/healthz?api_key=abc123&v=1";
    let f = run(&only_http(vec![http(url)]));
    let printed = serde_json::to_string(&f).expect("json");
    assert!(
        !printed.contains("hunter2") && !printed.contains("abc123"),
        "{printed}"
    );
    assert!(
        f.evidence[0].starts_with(&format!("GET {}/healthz?api_key=***&v=1 → 200 in ", s.base)),
        "{:?}",
        f.evidence
    );
}

#[test]
fn a_gate_without_checks_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let cx = Context {
        now: NOW.parse().expect("now"),
        ..Context::for_test(&store, dir.path())
    };
    let err = evaluate(&MonitoringGate::default(), &cx).expect_err("usage");
    assert!(matches!(err, relman_core::Error::Usage(_)), "{err}");
}

#[test]
fn prometheus_outcomes_become_the_findings_facts_and_explanation() {
    let s = serve();
    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/within/", s.base),
        Some(0.05),
    )]));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.facts["prometheus"][0]["values"], json!([0.01, 0.02]));
    assert_eq!(f.facts["http"], json!([]));
    assert!(
        f.explain[0].starts_with("ran 0 HTTP checks and 1 Prometheus query concurrently"),
        "{:?}",
        f.explain
    );

    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/over", s.base),
        Some(0.05),
    )]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.reason
            .starts_with("1 of 1 monitoring check failed: query `sum(rate("),
        "{}",
        f.reason
    );
}
