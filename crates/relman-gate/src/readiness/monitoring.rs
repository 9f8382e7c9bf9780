//! The `monitoring` gate: is the service observable and healthy before we ship to it?
//!
//! Every HTTP health check and every Prometheus query runs (concurrently, each within its own
//! `timeout_seconds`) and becomes one line of evidence; the gate fails if any of them fails.
//!
//! - Monitoring that cannot be reached is a failed check, never an error: a release must not
//!   go out blind, and "Prometheus is down" is exactly what a release manager wants to read.
//! - Requests go through `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` and trust the platform's
//!   certificate store, like the forge clients, so they work behind a corporate proxy and CA.
//! - URLs are printed without user info and with token-like query values masked
//!   ([`redact`]): evidence ends up in job summaries and audit records.

mod http;
mod prometheus;
pub mod redact;

#[cfg(test)]
mod tests;

use std::time::Duration;

use relman_core::Error;
use relman_core::config;
use serde_json::{Value, json};

use crate::{Context, Finding};

/// Redirects followed before the response is taken as it is (and compared with `status`).
pub const MAX_REDIRECTS: u32 = 3;

/// One check's outcome.
#[derive(Debug)]
struct Line {
    ok: bool,
    evidence: String,
    fact: Value,
}

/// Evaluates the gate.
pub fn evaluate(spec: &config::MonitoringGate, cx: &Context) -> Result<Finding, Error> {
    check(spec)?;
    let now = cx.now;
    let (http, prometheus) = std::thread::scope(|s| {
        let http: Vec<_> = spec
            .http
            .iter()
            .map(|c| s.spawn(move || http::check(c)))
            .collect();
        let prometheus: Vec<_> = spec
            .prometheus
            .iter()
            .map(|c| s.spawn(move || prometheus::check(c, now)))
            .collect();
        let join = |handles: Vec<std::thread::ScopedJoinHandle<'_, Line>>| {
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| crashed()))
                .collect::<Vec<_>>()
        };
        (join(http), join(prometheus))
    });

    let total = http.len() + prometheus.len();
    let failed: Vec<&Line> = http.iter().chain(&prometheus).filter(|l| !l.ok).collect();
    let reason = match failed.first() {
        None => format!("{total} monitoring {} passed", plural(total, "check")),
        Some(first) => format!(
            "{} of {total} monitoring {} failed: {}",
            failed.len(),
            plural(total, "check"),
            first.evidence
        ),
    };
    let mut finding = Finding::check(failed.is_empty(), reason);
    finding.evidence = http
        .iter()
        .chain(&prometheus)
        .map(|l| l.evidence.clone())
        .collect();
    finding.explain = vec![format!(
        "ran {} HTTP {} and {} Prometheus {} concurrently (proxy from the environment: {})",
        http.len(),
        plural(http.len(), "check"),
        prometheus.len(),
        plural(prometheus.len(), "query"),
        if ureq::Proxy::try_from_env().is_some() {
            "yes"
        } else {
            "none"
        }
    )];
    finding.facts = json!({
        "http": http.into_iter().map(|l| l.fact).collect::<Vec<_>>(),
        "prometheus": prometheus.into_iter().map(|l| l.fact).collect::<Vec<_>>(),
    });
    Ok(finding)
}

/// The agent for one check. Mirrors the forge clients' TLS setup (platform trust store); a
/// status is an answer to compare, not an error, and redirects stop at [`MAX_REDIRECTS`]
/// with the last response returned, so a redirect loop reads as "→ 302" rather than an error.
fn agent(timeout_seconds: u64) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A zero timeout would fail every check before it starts.
        .timeout_global(Some(timeout(timeout_seconds)))
        .proxy(ureq::Proxy::try_from_env())
        .max_redirects(MAX_REDIRECTS)
        .max_redirects_will_error(false)
        .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build();
    ureq::Agent::new_with_config(config)
}

fn timeout(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

/// A network error as one line, without the secrets of `raw_url`.
fn network_error(e: &ureq::Error, raw_url: &str, timeout_seconds: u64) -> String {
    match e {
        ureq::Error::Timeout(_) => {
            format!("timed out after {} s", timeout(timeout_seconds).as_secs())
        }
        other => redact::text(&other.to_string(), raw_url),
    }
}

fn crashed() -> Line {
    Line {
        ok: false,
        evidence: "a monitoring check stopped unexpectedly".into(),
        fact: json!({"ok": false, "error": "internal error"}),
    }
}

fn plural(n: usize, word: &str) -> String {
    match (n, word) {
        (1, w) => w.to_string(),
        (_, "query") => "queries".into(),
        (_, w) => format!("{w}s"),
    }
}

/// What the gate needs from its settings (also run by `relman config check`).
pub(crate) fn check(spec: &config::MonitoringGate) -> Result<(), Error> {
    if spec.http.is_empty() && spec.prometheus.is_empty() {
        return Err(Error::Usage(
            "monitoring: configure at least one `http` check or `prometheus` query".into(),
        ));
    }
    Ok(())
}
