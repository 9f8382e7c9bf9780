//! Probes of a running service, as configured: HTTP health checks and Prometheus queries.
//!
//! One schema for every place that probes a service: the gate's `monitoring` readiness and
//! rollback's `verify`. `relman-probe` runs them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An HTTP health check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub url: String,
    /// Status the endpoint must answer with.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Seconds before the check counts as failed.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_status() -> u16 {
    200
}

fn default_timeout() -> u64 {
    10
}

/// A Prometheus instant query whose every sample must be within bounds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusCheck {
    /// Base URL of the Prometheus server, e.g. `http://prometheus:9090`.
    pub url: String,
    /// PromQL, e.g. `sum(rate(http_requests_total{code=~"5.."}[5m]))`.
    pub query: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// The query must return at least one sample.
    #[serde(default = "default_true")]
    pub require_data: bool,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_true() -> bool {
    true
}

/// The checks of a list of Prometheus probes under `key` (`….prometheus`): bounds are finite
/// numbers and `max` is not below `min` (no value could pass).
pub(super) fn validate_prometheus(
    checks: &[PrometheusCheck],
    key: &str,
    at: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    for (n, p) in checks.iter().enumerate() {
        let k = format!("{key}[{n}]");
        for (name, v) in [("min", p.min), ("max", p.max)] {
            if let Some(v) = v {
                super::load::check_number(
                    at,
                    &format!("{k}.{name}"),
                    v,
                    super::load::Range::Finite,
                )?;
            }
        }
        if let (Some(lo), Some(hi)) = (p.min, p.max)
            && hi < lo
        {
            return Err(at(
                &format!("{k}.max"),
                format!("{hi} is below min ({lo}): no value can pass"),
            ));
        }
    }
    Ok(())
}
