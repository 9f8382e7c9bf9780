//! The gate against a tiny HTTP server on a loopback port, answering canned responses.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relman_core::config::{HttpCheck, MonitoringGate, PrometheusCheck};
use relman_forge::LocalStore;
use serde_json::json;

use super::evaluate;
use crate::{Context, Finding, Status};

const NOW: &str = "2026-09-20T12:00:00Z";
const NOW_UNIX: i64 = 1_789_905_600;

/// Request targets (`/path?query`) the server received.
type Log = Arc<Mutex<Vec<String>>>;

struct Server {
    base: String,
    log: Log,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let accept_log = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = accept_log.clone();
            std::thread::spawn(move || answer(stream, &log));
        }
    });
    Server { base, log }
}

fn answer(stream: TcpStream, log: &Log) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).expect("request line");
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        if header.trim().is_empty() {
            break;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    log.lock().expect("log").push(target.clone());
    let (status, headers, body) = route(&target);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} Canned\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
}

fn vector(values: &[&str]) -> String {
    let result: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"metric": {"instance": format!("i{i}")}, "value": [NOW_UNIX, v]}))
        .collect();
    json!({"status": "success", "data": {"resultType": "vector", "result": result}}).to_string()
}

/// Canned answers by path; Prometheus answers by the first path segment of its base URL.
fn route(target: &str) -> (u16, String, String) {
    let path = target.split('?').next().unwrap_or_default();
    let ok = |body: String| (200, String::new(), body);
    match path {
        "/healthz" => ok("ok".into()),
        "/down" => (503, String::new(), "unavailable".into()),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            ok("late".into())
        }
        "/old" => (302, "Location: /healthz\r\n".into(), String::new()),
        "/loop" => (302, "Location: /loop\r\n".into(), String::new()),
        "/within/api/v1/query" => ok(vector(&["0.01", "0.02"])),
        "/over/api/v1/query" => ok(vector(&["0.01", "0.3"])),
        "/odd/api/v1/query" => ok(vector(&["NaN", "+Inf"])),
        "/empty/api/v1/query" => ok(vector(&[])),
        "/scalar/api/v1/query" => ok(json!({"status": "success",
            "data": {"resultType": "scalar", "result": [NOW_UNIX, "3"]}})
        .to_string()),
        "/matrix/api/v1/query" => ok(json!({"status": "success",
            "data": {"resultType": "matrix", "result": []}})
        .to_string()),
        "/error/api/v1/query" => (
            400,
            String::new(),
            json!({"status": "error", "errorType": "bad_data",
                "error": "1:5: parse error: unexpected end of input"})
            .to_string(),
        ),
        "/garbage/api/v1/query" => ok("<html>proxy login</html>".into()),
        "/gateway/api/v1/query" => (502, String::new(), "Bad Gateway".into()),
        _ => (404, String::new(), "not found".into()),
    }
}

fn run(gate: &MonitoringGate) -> Finding {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let cx = Context {
        now: NOW.parse().expect("now"),
        ..Context::for_test(&store, dir.path())
    };
    evaluate(gate, &cx).expect("evaluate")
}

fn http(url: String) -> HttpCheck {
    HttpCheck {
        url,
        status: 200,
        timeout_seconds: 1,
    }
}

fn prometheus(url: String, max: Option<f64>) -> PrometheusCheck {
    PrometheusCheck {
        url,
        query: r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#.into(),
        min: None,
        max,
        require_data: true,
        timeout_seconds: 2,
    }
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
fn a_slow_endpoint_times_out_as_a_failure() {
    let s = serve();
    let start = Instant::now();
    let f = run(&only_http(vec![http(format!("{}/slow", s.base))]));
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.evidence,
        [format!("GET {}/slow → timed out after 1 s", s.base)]
    );
    assert_eq!(f.facts["http"][0]["error"], "timed out after 1 s");
    assert_eq!(f.facts["http"][0]["status"], serde_json::Value::Null);
}

#[test]
fn unreachable_monitoring_is_a_failure_not_an_error() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
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
fn redirects_are_followed_up_to_three_and_reported() {
    let s = serve();
    let f = run(&only_http(vec![http(format!("{}/old", s.base))]));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.evidence[0].starts_with(&format!("GET {0}/old → 200 at {0}/healthz in ", s.base)),
        "{:?}",
        f.evidence
    );

    let f = run(&only_http(vec![http(format!("{}/loop", s.base))]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(f.evidence[0].contains("→ 302"), "{:?}", f.evidence);
    let loops = s
        .log
        .lock()
        .expect("log")
        .iter()
        .filter(|t| *t == "/loop")
        .count();
    assert_eq!(loops, 4, "the request and three redirects");
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
fn prometheus_samples_within_and_over_the_threshold() {
    let s = serve();
    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/within/", s.base),
        Some(0.05),
    )]));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.evidence[0].contains(
            r#"→ 2 samples ({instance="i0"} 0.01, {instance="i1"} 0.02) within max 0.05 in "#
        ),
        "{:?}",
        f.evidence
    );
    assert_eq!(f.facts["prometheus"][0]["values"], json!([0.01, 0.02]));
    assert_eq!(
        f.facts["prometheus"][0]["query"],
        r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#
    );
    let target = s.log.lock().expect("log")[0].clone();
    assert!(
        target.starts_with("/within/api/v1/query?query=sum"),
        "{target}"
    );
    assert!(!target.contains(['"', '{', ' ']), "encoded: {target}");
    assert!(target.ends_with(&format!("&time={NOW_UNIX}")), "{target}");

    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/over", s.base),
        Some(0.05),
    )]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.evidence[0].contains(r#"→ 1 of 2 samples outside max 0.05: ({instance="i1"} 0.3) in "#),
        "{:?}",
        f.evidence
    );
    assert_eq!(f.facts["prometheus"][0]["ok"], false);
}

#[test]
fn nan_and_infinity_fail_bounds_and_stay_readable_in_facts() {
    let s = serve();
    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/odd", s.base),
        Some(10.0),
    )]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(f.facts["prometheus"][0]["values"], json!(["NaN", "+Inf"]));
    assert!(
        f.evidence[0].contains("2 of 2 samples outside max 10"),
        "{:?}",
        f.evidence
    );

    let unbounded = prometheus(format!("{}/odd", s.base), None);
    assert_eq!(run(&only_prometheus(vec![unbounded])).status, Status::Pass);
}

#[test]
fn an_empty_vector_fails_only_when_data_is_required() {
    let s = serve();
    let f = run(&only_prometheus(vec![prometheus(
        format!("{}/empty", s.base),
        Some(1.0),
    )]));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.evidence[0].contains("→ no data (a sample is required) in "),
        "{:?}",
        f.evidence
    );

    let optional = PrometheusCheck {
        require_data: false,
        ..prometheus(format!("{}/empty", s.base), Some(1.0))
    };
    assert_eq!(run(&only_prometheus(vec![optional])).status, Status::Pass);
}

#[test]
fn a_scalar_is_one_sample() {
    let s = serve();
    let check = PrometheusCheck {
        min: Some(2.0),
        ..prometheus(format!("{}/scalar", s.base), Some(5.0))
    };
    let f = run(&only_prometheus(vec![check]));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(
        f.evidence[0].contains("→ 1 sample (3) within [2, 5] in "),
        "{:?}",
        f.evidence
    );
    assert_eq!(f.facts["prometheus"][0]["values"], json!([3.0]));
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
        let f = run(&only_prometheus(vec![prometheus(
            format!("{}/{path}", s.base),
            Some(1.0),
        )]));
        assert_eq!(f.status, Status::Fail, "{path}: {f:?}");
        assert!(f.evidence[0].contains(expected), "{path}: {:?}", f.evidence);
        assert_eq!(f.facts["prometheus"][0]["ok"], false);
        assert!(
            f.facts["prometheus"][0]["error"]
                .as_str()
                .is_some_and(|e| e.contains(expected))
        );
    }
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
