//! HTTP health checks: `GET url` must answer `status`.

use std::time::Instant;

use relman_core::config::HttpCheck;
use serde_json::json;
use ureq::ResponseExt;

use crate::{Outcome, agent, network_error, redact};

pub(super) fn check(spec: &HttpCheck) -> Outcome {
    let shown = redact::url(&spec.url);
    let start = Instant::now();
    let response = agent(spec.timeout_seconds).get(&spec.url).call();
    let ms = start.elapsed().as_millis();
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let ok = status == spec.status;
            let final_url = redact::url(&response.get_uri().to_string());
            let via = if same_url(&final_url, &shown) {
                String::new()
            } else {
                format!(" at {final_url}")
            };
            let expected = if ok {
                String::new()
            } else {
                format!(", expected {}", spec.status)
            };
            Outcome {
                ok,
                evidence: format!("GET {shown} → {status}{via}{expected} in {ms} ms"),
                fact: json!({"url": shown, "status": status, "ok": ok, "error": null}),
            }
        }
        Err(e) => {
            let error = network_error(&e, &spec.url, spec.timeout_seconds);
            Outcome {
                ok: false,
                evidence: format!("GET {shown} → {error}"),
                fact: json!({"url": shown, "status": null, "ok": false, "error": error}),
            }
        }
    }
}

/// Whether a response's URL is the one asked for: compared as printed, since ureq normalises
/// `http://h` to `http://h/` and may drop the user info it sent as basic auth.
fn same_url(answered: &str, asked: &str) -> bool {
    answered.trim_end_matches('/') == asked.trim_end_matches('/')
}
