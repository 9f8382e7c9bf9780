//! `workflow_dispatch`, at most once per idempotency key.
//!
//! GitHub's REST API neither takes an idempotency key nor shows a run's inputs, so relman:
//!
//! 1. passes the key as the workflow input `relman_key` (the workflow must declare it);
//! 2. before dispatching, looks for it in the titles of the workflow's recent
//!    `workflow_dispatch` runs. That finds it when the workflow shows the key in its run name,
//!    which is the documented setup:
//!    `run-name: "deploy ${{ inputs.relman_key }}"`;
//! 3. also looks in the attached audit store ([`super::GitHub::with_audit_store`]), where
//!    every dispatch is recorded (`forge.dispatch`), which covers workflows without that
//!    run name as long as the store survives between attempts.
//!
//! Limitation: a run appears in the list a few seconds after the dispatch; a retry within
//! that window with no audit store can dispatch twice. A failed POST (5xx, timeout) is not
//! retried for the same reason.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Value, json};

use super::client::Idempotent;
use super::{GitHub, encode, opt_str};
use crate::Forge;
use crate::types::{AuditFilter, AuditRecord, DispatchRecord, DispatchSpec, Upserted};
use relman_core::error::{Error, Result};

/// The workflow input carrying the idempotency key.
pub const KEY_INPUT: &str = "relman_key";
const AUDIT_ACTION: &str = "forge.dispatch";

pub(super) fn dispatch(gh: &GitHub, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
    if let Some(record) = recorded(gh, spec)? {
        return Ok(Upserted::unchanged(record));
    }
    if let Some(record) = in_recent_runs(gh, spec)? {
        return Ok(Upserted::unchanged(record));
    }
    let mut inputs: BTreeMap<String, String> = spec.inputs.clone();
    inputs.insert(KEY_INPUT.into(), spec.idempotency_key.clone());
    let url = gh.repo_url(&format!(
        "/actions/workflows/{}/dispatches",
        encode(&spec.workflow)
    ));
    let body = json!({ "ref": spec.git_ref, "inputs": inputs });
    let response = gh
        .client
        .send(Method::POST, &url, Some(&body), Idempotent::No)?;
    let (id, run_url) = match response.status.as_u16() {
        204 => (0, None),
        // Newer GitHub versions may answer with the run's details.
        200 => {
            let v: Value = response.json().unwrap_or(Value::Null);
            (
                v.get("workflow_run_id")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                opt_str(&v, "html_url").or_else(|| opt_str(&v, "run_url")),
            )
        }
        422 if String::from_utf8_lossy(&response.body).contains(KEY_INPUT) => {
            return Err(Error::Forge {
                backend: "github".into(),
                message: format!(
                    "{}: workflow `{}` does not declare the input `{KEY_INPUT}` relman passes \
                     its idempotency key in; add it under `on.workflow_dispatch.inputs`",
                    response.endpoint, spec.workflow
                ),
            });
        }
        _ => return Err(response.unexpected()),
    };
    let record = DispatchRecord::of(spec, id, crate::now_rfc3339(), run_url);
    if let Some(store) = &gh.audit {
        let mut audit = AuditRecord::now(spec.requested_by.clone(), AUDIT_ACTION);
        audit.reason = format!("dispatched {} on {}", spec.workflow, spec.git_ref);
        audit.details = serde_json::to_value(&record).unwrap_or(Value::Null);
        store.append_audit(&audit)?;
    }
    Ok(Upserted::created(record))
}

/// The dispatch recorded in the audit store under this key; a conflict if it differs.
fn recorded(gh: &GitHub, spec: &DispatchSpec) -> Result<Option<DispatchRecord>> {
    let Some(store) = &gh.audit else {
        return Ok(None);
    };
    let filter = AuditFilter {
        action: Some(AUDIT_ACTION.into()),
        ..AuditFilter::default()
    };
    for audit in store.audit_log(&filter)? {
        let Ok(record) = serde_json::from_value::<DispatchRecord>(audit.details) else {
            continue;
        };
        if record.idempotency_key != spec.idempotency_key {
            continue;
        }
        if record.workflow != spec.workflow
            || record.git_ref != spec.git_ref
            || record.inputs != spec.inputs
        {
            return Err(Error::Conflict {
                backend: gh.name().into(),
                message: format!(
                    "idempotency key `{}` already dispatched {} on {} with other inputs",
                    spec.idempotency_key, record.workflow, record.git_ref
                ),
            });
        }
        return Ok(Some(record));
    }
    Ok(None)
}

/// A recent `workflow_dispatch` run of the workflow whose title carries the key.
fn in_recent_runs(gh: &GitHub, spec: &DispatchSpec) -> Result<Option<DispatchRecord>> {
    let url = gh.repo_url(&format!(
        "/actions/workflows/{}/runs?event=workflow_dispatch&per_page=100",
        encode(&spec.workflow)
    ));
    let Some(v) = gh.client.get_json::<Value>(&url)? else {
        return Err(Error::NotFound {
            backend: gh.name().into(),
            what: format!("workflow `{}`", spec.workflow),
        });
    };
    let runs = v
        .get("workflow_runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let key = spec.idempotency_key.as_str();
    Ok(runs
        .iter()
        .find(|run| {
            ["display_title", "name"].iter().any(|f| {
                run.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.contains(key))
            })
        })
        .map(|run| {
            DispatchRecord::of(
                spec,
                run.get("id").and_then(Value::as_u64).unwrap_or(0),
                opt_str(run, "created_at").unwrap_or_default(),
                opt_str(run, "html_url"),
            )
        }))
}
