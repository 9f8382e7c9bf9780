//! Probes of a running service: HTTP health checks and Prometheus instant queries.
//!
//! Shared by the gate's `monitoring` readiness (is the service observable and healthy before
//! we ship to it?) and rollback's verification (is it healthy again after we went back?):
//! both concerns depend on this crate, never on each other. The settings are the core's
//! [`HttpCheck`] and [`PrometheusCheck`], so `.relman.yml` describes a probe the same way in
//! both places.
//!
//! - [`run`] runs every check concurrently, each within its own `timeout_seconds`, and gives
//!   one [`Outcome`] per check: a line of evidence and a JSON fact.
//! - A probe that cannot tell is a failed check, never an error nor a pass: unreachable,
//!   timed out, a malformed or non-numeric answer, a result type that cannot be held to a
//!   threshold. "Prometheus is down" is exactly what a release manager wants to read.
//! - Requests go through `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` and trust the platform's
//!   certificate store, like the forge clients, so they work behind a corporate proxy and CA.
//! - URLs are printed without user info and with token-like query values masked
//!   ([`redact`]): evidence ends up in job summaries and audit records.

mod http;
mod prometheus;
pub mod redact;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use relman_core::config::{HttpCheck, PrometheusCheck};
use serde_json::{Value, json};

/// Redirects followed before the response is taken as it is (and compared with `status`).
pub const MAX_REDIRECTS: u32 = 3;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The check passed.
    pub ok: bool,
    /// One line: what was asked, what came back, how long it took (secrets redacted).
    pub evidence: String,
    /// The same as data: `{url, status, ok, error}` (HTTP) or `{query, url, values, ok,
    /// error}` (Prometheus).
    pub fact: Value,
}

/// The outcomes of one run of every check, in the order they are configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub http: Vec<Outcome>,
    pub prometheus: Vec<Outcome>,
}

impl Outcomes {
    /// Every outcome, HTTP checks first.
    pub fn all(&self) -> impl Iterator<Item = &Outcome> {
        self.http.iter().chain(&self.prometheus)
    }

    /// Whether every check passed (and there was at least one: none tells nothing).
    pub fn passed(&self) -> bool {
        self.all().next().is_some() && self.all().all(|o| o.ok)
    }

    /// The failed ones, in order.
    pub fn failed(&self) -> Vec<&Outcome> {
        self.all().filter(|o| !o.ok).collect()
    }

    /// `{"http": [facts], "prometheus": [facts]}`.
    pub fn facts(&self) -> Value {
        json!({
            "http": self.http.iter().map(|o| o.fact.clone()).collect::<Vec<_>>(),
            "prometheus": self.prometheus.iter().map(|o| o.fact.clone()).collect::<Vec<_>>(),
        })
    }
}

/// Runs every check concurrently; Prometheus queries are evaluated at `now` (a drill or a
/// gate with a fixed clock asks about the same instant).
pub fn run(http: &[HttpCheck], prometheus: &[PrometheusCheck], now: jiff::Timestamp) -> Outcomes {
    std::thread::scope(|s| {
        let http: Vec<_> = http
            .iter()
            .map(|c| s.spawn(move || http::check(c)))
            .collect();
        let prometheus: Vec<_> = prometheus
            .iter()
            .map(|c| s.spawn(move || prometheus::check(c, now)))
            .collect();
        let join = |handles: Vec<std::thread::ScopedJoinHandle<'_, Outcome>>| {
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| crashed()))
                .collect::<Vec<_>>()
        };
        Outcomes {
            http: join(http),
            prometheus: join(prometheus),
        }
    })
}

/// Whether the probes go through a proxy taken from the environment.
pub fn proxy_from_env() -> bool {
    ureq::Proxy::try_from_env().is_some()
}

/// What an HTTP check asks, in words (for a dry run): `GET <url> answers 200 (within 10 s)`.
pub fn describe_http(c: &HttpCheck) -> String {
    format!(
        "GET {} answers {} (within {} s)",
        redact::url(&c.url),
        c.status,
        timeout(c.timeout_seconds).as_secs()
    )
}

/// What a Prometheus check asks, in words: ``query `…` on <url>: every sample max 0.05, at
/// least one sample (within 10 s)``.
pub fn describe_prometheus(c: &PrometheusCheck) -> String {
    format!(
        "query `{}` on {}: {}{} (within {} s)",
        c.query,
        redact::url(&c.url),
        prometheus::bounds(c)
            .map_or_else(|| "any value".to_string(), |b| format!("every sample {b}")),
        if c.require_data {
            ", at least one sample"
        } else {
            ""
        },
        timeout(c.timeout_seconds).as_secs()
    )
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

fn crashed() -> Outcome {
    Outcome {
        ok: false,
        evidence: "a monitoring check stopped unexpectedly".into(),
        fact: json!({"ok": false, "error": "internal error"}),
    }
}
