//! Prometheus instant queries: every sample must lie within `min`/`max`.
//!
//! `GET {url}/api/v1/query?query=…&time=<now>`, evaluated at the gate's `now` so a drill with
//! a fixed clock asks about the same instant. Instant vectors and scalars are compared; other
//! result types (matrix, string) cannot be held to a threshold and fail the check.

use std::collections::BTreeMap;
use std::time::Instant;

use relman_core::config::PrometheusCheck;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Outcome, agent, network_error, redact};

/// Largest response read: an instant query over a big fleet is far below.
const BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// Samples shown per evidence line.
const SHOWN: usize = 5;

#[derive(Debug, Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// `[unix time, "value"]`; absent for native histogram samples.
    #[serde(default)]
    value: Option<(Value, String)>,
}

/// One sample: its labels as PromQL shows them and its value as Prometheus wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub labels: String,
    pub raw: String,
    pub value: f64,
}

pub(super) fn check(spec: &PrometheusCheck, now: jiff::Timestamp) -> Outcome {
    let shown = redact::url(&spec.url);
    let prefix = format!("query `{}` on {shown} →", spec.query);
    let start = Instant::now();
    let fetched = fetch(spec, now);
    let ms = start.elapsed().as_millis();
    let fail = |error: String| Outcome {
        ok: false,
        evidence: format!("{prefix} {error}"),
        fact: json!({"query": spec.query, "url": shown, "values": [], "ok": false, "error": error}),
    };
    let samples = match fetched {
        Ok((status, body)) => match samples(&body, status) {
            Ok(samples) => samples,
            Err(error) => return fail(error),
        },
        Err(error) => return fail(error),
    };
    let out: Vec<&Sample> = samples.iter().filter(|s| !within(spec, s.value)).collect();
    let no_data = spec.require_data && samples.is_empty();
    let ok = out.is_empty() && !no_data;
    let bounds = bounds(spec);
    let what = if no_data {
        "no data (a sample is required)".to_string()
    } else if samples.is_empty() {
        "no data".to_string()
    } else if out.is_empty() {
        format!(
            "{} {}{}",
            count(samples.len()),
            list(samples.iter()),
            bounds.map_or(String::new(), |b| format!(" within {b}"))
        )
    } else {
        format!(
            "{} of {} outside {}: {}",
            out.len(),
            count(samples.len()),
            bounds.unwrap_or_default(),
            list(out.iter().copied())
        )
    };
    Outcome {
        ok,
        evidence: format!("{prefix} {what} in {ms} ms"),
        fact: json!({
            "query": spec.query,
            "url": shown,
            "values": samples.iter().map(fact_value).collect::<Vec<_>>(),
            "ok": ok,
            "error": null,
        }),
    }
}

/// The HTTP status and body of the query, or why there is none.
fn fetch(spec: &PrometheusCheck, now: jiff::Timestamp) -> Result<(u16, String), String> {
    let endpoint = endpoint(&spec.url);
    let mut response = agent(spec.timeout_seconds)
        .get(&endpoint)
        .query("query", &spec.query)
        .query("time", now.as_second().to_string())
        .call()
        .map_err(|e| network_error(&e, &spec.url, spec.timeout_seconds))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .map_err(|e| network_error(&e, &spec.url, spec.timeout_seconds))?;
    Ok((status, body))
}

/// `{base}/api/v1/query`, keeping a query string the base URL carries (an auth parameter).
fn endpoint(base: &str) -> String {
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base, None),
    };
    let mut out = format!("{}/api/v1/query", path.trim_end_matches('/'));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The samples of a query response, or why it has none to compare.
pub(crate) fn samples(body: &str, status: u16) -> Result<Vec<Sample>, String> {
    let reply: Reply = serde_json::from_str(body).map_err(|e| {
        if (200..300).contains(&status) {
            format!("malformed response: {e}")
        } else {
            format!("HTTP {status}")
        }
    })?;
    if reply.status != "success" {
        return Err(format!(
            "Prometheus error{}: {}",
            reply
                .error_type
                .map_or_else(String::new, |t| format!(" ({t})")),
            reply.error.as_deref().unwrap_or("no message")
        ));
    }
    let data = reply
        .data
        .ok_or_else(|| "malformed response: no `data`".to_string())?;
    match data.result_type.as_str() {
        "vector" => {
            let vector: Vec<VectorSample> = serde_json::from_value(data.result)
                .map_err(|e| format!("malformed vector: {e}"))?;
            vector
                .into_iter()
                .map(|s| {
                    let labels = labels(&s.metric);
                    let (_, raw) = s.value.ok_or_else(|| {
                        format!("{labels} is a histogram sample: it has no value to compare")
                    })?;
                    sample(labels, raw)
                })
                .collect()
        }
        "scalar" => {
            let (_, raw): (Value, String) = serde_json::from_value(data.result)
                .map_err(|e| format!("malformed scalar: {e}"))?;
            Ok(vec![sample("scalar".into(), raw)?])
        }
        other => Err(format!(
            "result type `{other}`: only instant vectors and scalars can be held to a threshold"
        )),
    }
}

fn sample(labels: String, raw: String) -> Result<Sample, String> {
    // Rust reads Prometheus' `NaN`, `+Inf` and `-Inf` as they are written.
    let value = raw
        .parse::<f64>()
        .map_err(|_| format!("{labels} has the value `{raw}`, which is not a number"))?;
    Ok(Sample { labels, raw, value })
}

/// Whether `value` satisfies the bounds; NaN satisfies none.
fn within(spec: &PrometheusCheck, value: f64) -> bool {
    spec.min.is_none_or(|min| value >= min) && spec.max.is_none_or(|max| value <= max)
}

pub(crate) fn bounds(spec: &PrometheusCheck) -> Option<String> {
    match (spec.min, spec.max) {
        (Some(min), Some(max)) => Some(format!("[{min}, {max}]")),
        (Some(min), None) => Some(format!("min {min}")),
        (None, Some(max)) => Some(format!("max {max}")),
        (None, None) => None,
    }
}

/// `{job="api", instance="a"}` (PromQL's own notation); `{}` for a label-less sample.
fn labels(metric: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = metric.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 sample".into()
    } else {
        format!("{n} samples")
    }
}

fn list<'a>(samples: impl Iterator<Item = &'a Sample>) -> String {
    let samples: Vec<&Sample> = samples.collect();
    let mut shown: Vec<String> = samples
        .iter()
        .take(SHOWN)
        .map(|s| match s.labels.as_str() {
            "{}" | "scalar" => s.raw.clone(),
            labels => format!("{labels} {}", s.raw),
        })
        .collect();
    if samples.len() > SHOWN {
        shown.push(format!("… {} more", samples.len() - SHOWN));
    }
    format!("({})", shown.join(", "))
}

/// A number when JSON can hold it; `NaN`, `+Inf`, `-Inf` as Prometheus wrote them otherwise.
fn fact_value(s: &Sample) -> Value {
    serde_json::Number::from_f64(s.value)
        .map_or_else(|| Value::String(s.raw.clone()), Value::Number)
}
