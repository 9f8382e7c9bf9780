//! A tiny HTTP server on a loopback port answering canned responses (feature `testing`): the
//! stand-in for a service and its Prometheus in the tests of the probes, the gate and
//! rollback's verification.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

/// The instant the canned Prometheus samples carry (2026-09-20T12:00:00Z).
pub const NOW_UNIX: i64 = 1_789_905_600;

/// Request targets (`/path?query`) the server received, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// An answer: status, extra header lines (each ending in `\r\n`), body.
pub type Answer = (u16, String, String);

/// A running server; it lives until the test process ends.
#[derive(Debug, Clone)]
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub log: Log,
}

impl Server {
    /// How many requests asked for `path` (query ignored).
    pub fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|t| t.split('?').next() == Some(path))
            .count()
    }
}

/// An HTTP check of `url` expecting 200 within a second.
pub fn http(url: String) -> crate::HttpCheck {
    crate::HttpCheck {
        url,
        status: 200,
        timeout_seconds: 1,
    }
}

/// A Prometheus check of the 5xx rate at `url`, at most `max`, requiring data.
pub fn prometheus(url: String, max: Option<f64>) -> crate::PrometheusCheck {
    crate::PrometheusCheck {
        url,
        query: r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#.into(),
        min: None,
        max,
        require_data: true,
        timeout_seconds: 2,
    }
}

/// A server answering with [`canned`].
pub fn serve() -> Server {
    serve_with(canned)
}

/// A server answering each request target with `route`.
pub fn serve_with(route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let accept_log = log.clone();
    let route = Arc::new(route);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = accept_log.clone();
            let route = route.clone();
            std::thread::spawn(move || answer(stream, &log, &*route));
        }
    });
    Server { base, log }
}

/// An address nothing listens on (a port that was just free).
pub fn closed() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    format!("http://127.0.0.1:{port}")
}

fn answer(stream: TcpStream, log: &Log, route: &dyn Fn(&str) -> Answer) {
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

/// A Prometheus instant-vector answer with one sample per value (`instance` i0, i1, …).
pub fn vector(values: &[&str]) -> String {
    let result: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"metric": {"instance": format!("i{i}")}, "value": [NOW_UNIX, v]}))
        .collect();
    json!({"status": "success", "data": {"resultType": "vector", "result": result}}).to_string()
}

/// Canned answers by path; Prometheus answers by the first path segment of its base URL.
pub fn canned(target: &str) -> Answer {
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
