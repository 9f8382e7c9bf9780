//! The `monitoring` gate: is the service observable and healthy before we ship to it?
//!
//! Every HTTP health check and every Prometheus query runs (concurrently, each within its own
//! `timeout_seconds`) and becomes one line of evidence; the gate fails if any of them fails.
//!
//! The probes themselves (HTTP, Prometheus, proxies, timeouts, redaction of URLs) are
//! `relman_probe`'s, shared with rollback's verification; this module turns their outcomes into
//! the gate's finding. Monitoring that cannot be reached is a failed check, never an error: a
//! release must not go out blind.

#[cfg(test)]
mod tests;

use relman_core::Error;
use relman_core::config;
use relman_probe::Outcome;

use crate::{Context, Finding};

/// Evaluates the gate.
pub fn evaluate(spec: &config::MonitoringGate, cx: &Context) -> Result<Finding, Error> {
    check(spec)?;
    let outcomes = relman_probe::run(&spec.http, &spec.prometheus, cx.now);
    let (http, prometheus) = (&outcomes.http, &outcomes.prometheus);

    let total = http.len() + prometheus.len();
    let failed: Vec<&Outcome> = outcomes.failed();
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
    finding.evidence = outcomes.all().map(|o| o.evidence.clone()).collect();
    finding.explain = vec![format!(
        "ran {} HTTP {} and {} Prometheus {} concurrently (proxy from the environment: {})",
        http.len(),
        plural(http.len(), "check"),
        prometheus.len(),
        plural(prometheus.len(), "query"),
        if relman_probe::proxy_from_env() {
            "yes"
        } else {
            "none"
        }
    )];
    finding.facts = outcomes.facts();
    Ok(finding)
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
