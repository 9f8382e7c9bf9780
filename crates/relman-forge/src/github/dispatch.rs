//! `workflow_dispatch` and `repository_dispatch`, at most once per idempotency key.
//!
//! GitHub's REST API neither takes an idempotency key nor shows a run's inputs, so relman:
//!
//! 1. passes the key as the workflow input `relman_key` (the workflow must declare it), or in
//!    the `client_payload` of a `repository_dispatch:<event_type>` (as `relman_key`);
//! 2. with a state branch attached ([`super::GitHub::with_audit_store`]), claims the key there
//!    before sending anything ([`crate::claim`]): of two simultaneous triggers one dispatches,
//!    the other finds the claim and reports the first's dispatch (its record, or its run
//!    once GitHub lists it);
//! 3. before dispatching, looks for the key in the titles of the workflow's recent runs
//!    ([`super::runs::find_run`]). That finds it when the workflow shows the key in its run
//!    name, which is the documented setup: `run-name: "deploy ${{ inputs.relman_key }}"`;
//! 4. records every dispatch in the claim and the audit trail (`forge.dispatch`); audit
//!    records made before claims existed are still honoured.
//!
//! Without a state branch, a retry within the few seconds before GitHub lists the run can
//! dispatch twice. A failed POST is never retried (it may have been accepted); its claim
//! stays unless GitHub refused the request outright (a 4xx: nothing ran).

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Map, Value, json};

use super::client::{self, Idempotent};
use super::runs::{WorkflowRun, find_run};
use super::{GitHub, encode, opt_str};
use crate::Forge;
use crate::claim::{self, Claimed};
use crate::types::{
    AuditFilter, AuditRecord, DispatchRecord, DispatchSpec, REPOSITORY_DISPATCH_PREFIX, Upserted,
};
use relman_core::error::{Error, ForgeErrorKind, Result};

/// The workflow input (or `client_payload` field) carrying the idempotency key.
pub const KEY_INPUT: &str = "relman_key";
const AUDIT_ACTION: &str = "forge.dispatch";
/// GitHub refuses a `client_payload` with more top-level properties than this.
pub(super) const MAX_PAYLOAD_PROPERTIES: usize = 10;
/// How often, and how far apart, a dispatch whose key another job holds looks for that job's
/// run before saying it cannot find it (about half a minute in all).
const IN_FLIGHT_POLLS: u32 = 6;
const IN_FLIGHT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) fn dispatch(gh: &GitHub, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
    check_spec(spec)?;
    let path = claim::path(
        gh.name(),
        &format!("{}/{}", gh.owner, gh.repo),
        &spec.idempotency_key,
    );
    let store = gh.audit.as_deref();
    match claim::claim(store, gh.name(), &path, spec)? {
        Claimed::Recorded(record) => Ok(Upserted::unchanged(record)),
        Claimed::InFlight(file) => {
            for poll in 0..=IN_FLIGHT_POLLS {
                if poll > 0 {
                    (gh.client.policy.sleep)(IN_FLIGHT_WAIT);
                }
                if let Some(run) = find_run(gh, &spec.workflow, &spec.idempotency_key)? {
                    return Ok(Upserted::unchanged(of_run(spec, &run)));
                }
            }
            let looked = format!("no run of `{}` carries the key", spec.workflow);
            Err(claim::unfinished(gh.name(), &path, spec, &file, &looked))
        }
        Claimed::Ours(held) => {
            // An attempt from before claims, or without a store, may have dispatched already.
            let earlier = match recorded(gh, spec)? {
                Some(record) => Some(record),
                None => find_run(gh, &spec.workflow, &spec.idempotency_key)?
                    .map(|run| of_run(spec, &run)),
            };
            let store = store.expect("a claim is only held through a store");
            if let Some(record) = earlier {
                held.record(store, &record)?;
                return Ok(Upserted::unchanged(record));
            }
            match send(gh, spec) {
                Ok(record) => {
                    held.record(store, &record)?;
                    audit(gh, spec, &record)?;
                    Ok(Upserted::created(record))
                }
                Err(e) => {
                    if claim::nothing_ran(&e) {
                        held.release(store);
                    }
                    Err(e)
                }
            }
        }
        Claimed::Unshared => {
            if let Some(record) = recorded(gh, spec)? {
                return Ok(Upserted::unchanged(record));
            }
            if let Some(run) = find_run(gh, &spec.workflow, &spec.idempotency_key)? {
                return Ok(Upserted::unchanged(of_run(spec, &run)));
            }
            let record = send(gh, spec)?;
            audit(gh, spec, &record)?;
            Ok(Upserted::created(record))
        }
    }
}

/// What a dispatch spec must hold before anything is sent.
pub(super) fn check_spec(spec: &DispatchSpec) -> Result<()> {
    let usage = |m: String| Err(Error::Usage(format!("github: {m}")));
    if spec.idempotency_key.trim().is_empty() {
        return usage("a dispatch needs an idempotency key".into());
    }
    if spec.inputs.contains_key(KEY_INPUT) {
        return usage(format!(
            "the input `{KEY_INPUT}` is relman's own (it carries the idempotency key)"
        ));
    }
    match spec.workflow.strip_prefix(REPOSITORY_DISPATCH_PREFIX) {
        Some(event) if event.trim().is_empty() => usage(format!(
            "workflow `{}`: expected `{REPOSITORY_DISPATCH_PREFIX}<event_type>`",
            spec.workflow
        )),
        Some(_) if spec.inputs.len() + 1 > MAX_PAYLOAD_PROPERTIES => usage(format!(
            "a repository_dispatch carries at most {MAX_PAYLOAD_PROPERTIES} payload properties              ({} inputs + `{KEY_INPUT}` given)",
            spec.inputs.len()
        )),
        Some(_) => Ok(()),
        None if spec.workflow.trim().is_empty() || spec.git_ref.trim().is_empty() => {
            usage("a workflow_dispatch needs a workflow and a ref".into())
        }
        None if spec.workflow.starts_with(crate::types::JOB_PREFIX) => usage(format!(
            "workflow `{}`: `job:<id>` is GitLab's; name a workflow file or              `{REPOSITORY_DISPATCH_PREFIX}<event_type>`",
            spec.workflow
        )),
        None => Ok(()),
    }
}

/// The record of a run found by its key.
fn of_run(spec: &DispatchSpec, run: &WorkflowRun) -> DispatchRecord {
    DispatchRecord::of(spec, run.id, run.created_at, run.html_url.clone())
}

/// Sends the dispatch (one POST, never repeated) and returns its record.
fn send(gh: &GitHub, spec: &DispatchSpec) -> Result<DispatchRecord> {
    let (url, body) = request(gh, spec);
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
        // GitHub refused the dispatch (nothing ran): its 422, with what to fix.
        422 if String::from_utf8_lossy(&response.body).contains(KEY_INPUT) => {
            return Err(client::api(
                &response.endpoint,
                ForgeErrorKind::Status { status: 422 },
                format!(
                    "{}: {}: workflow `{}` does not declare the input `{KEY_INPUT}` relman \
                     passes its idempotency key in; add it under `on.workflow_dispatch.inputs`",
                    response.endpoint, response.status, spec.workflow
                ),
            ));
        }
        _ => return Err(response.unexpected()),
    };
    Ok(DispatchRecord::of(
        spec,
        id,
        Some(crate::now_second()),
        run_url,
    ))
}

/// The dispatch request: URL and JSON body.
pub(super) fn request(gh: &GitHub, spec: &DispatchSpec) -> (String, Value) {
    match spec.workflow.strip_prefix(REPOSITORY_DISPATCH_PREFIX) {
        Some(event_type) => {
            let mut payload: Map<String, Value> = spec
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            payload.insert(
                KEY_INPUT.into(),
                Value::String(spec.idempotency_key.clone()),
            );
            (
                gh.repo_url("/dispatches"),
                json!({ "event_type": event_type, "client_payload": payload }),
            )
        }
        None => {
            let mut inputs: BTreeMap<String, String> = spec.inputs.clone();
            inputs.insert(KEY_INPUT.into(), spec.idempotency_key.clone());
            (
                gh.repo_url(&format!(
                    "/actions/workflows/{}/dispatches",
                    encode(&spec.workflow)
                )),
                json!({ "ref": spec.git_ref, "inputs": inputs }),
            )
        }
    }
}

/// The `forge.dispatch` audit record of a dispatch just made.
fn audit(gh: &GitHub, spec: &DispatchSpec, record: &DispatchRecord) -> Result<()> {
    let Some(store) = &gh.audit else {
        return Ok(());
    };
    let mut audit = AuditRecord::now(spec.requested_by.clone(), AUDIT_ACTION);
    audit.reason = format!("dispatched {} on {}", spec.workflow, spec.git_ref);
    audit.details = serde_json::to_value(record).unwrap_or(Value::Null);
    // The dispatch was made: an audit record that need not be durable (`state.durable`) and
    // could not be pushed is a warning, not a failed dispatch a retry would repeat.
    match store.append_audit(&audit) {
        Err(Error::NotRecorded { why, .. }) => {
            tracing::warn!("github: the dispatch was made but not recorded: {why}");
            Ok(())
        }
        other => other,
    }
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
