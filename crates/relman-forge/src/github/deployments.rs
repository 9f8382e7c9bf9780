//! Deployments and their statuses.
//!
//! - The idempotency key travels in the deployment's payload as `relman_idempotency_key`
//!   (with `relman_ref` and `relman_creator`); before creating, the deployments of the same
//!   environment and sha are searched for it, so a retried job gets its first deployment back.
//!   A key reused for another ref is a conflict; reuse for another environment or sha is not
//!   detected (that would need a scan of every deployment).
//! - GitHub deploys a ref: relman passes the sha itself as `ref` (the commit that was gated
//!   is the one deployed), `auto_merge: false` (never merge the default branch into it) and
//!   `required_contexts: []` (the gate already judged the checks).
//! - A payload that is not a JSON object is kept under `relman_payload`; reads give back the
//!   payload as it was given, without relman's keys.
//! - GitHub has no `cancelled` state: it is written as `error`, read back as `error`.
//! - Listing costs one request per deployment for its statuses (plus the pages).

use http::Method;
use serde_json::{Map, Value, json};

use super::client::{self, Idempotent};
use super::{GitHub, encode, opt_str, str_field, time_field, u64_field};
use crate::types::{Deployment, DeploymentSpec, DeploymentState, DeploymentStatus, Upserted};
use relman_core::error::{Error, ForgeErrorKind, Result};

const KEY: &str = "relman_idempotency_key";
const REF: &str = "relman_ref";
const CREATOR: &str = "relman_creator";
const PAYLOAD: &str = "relman_payload";

fn state_to_github(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::Pending => "pending",
        DeploymentState::Queued => "queued",
        DeploymentState::InProgress => "in_progress",
        DeploymentState::Success => "success",
        DeploymentState::Failure => "failure",
        DeploymentState::Error | DeploymentState::Cancelled => "error",
        DeploymentState::Inactive => "inactive",
    }
}

fn state_from_github(state: &str) -> DeploymentState {
    match state {
        "queued" => DeploymentState::Queued,
        "in_progress" => DeploymentState::InProgress,
        "success" => DeploymentState::Success,
        "failure" => DeploymentState::Failure,
        "error" => DeploymentState::Error,
        "inactive" => DeploymentState::Inactive,
        _ => DeploymentState::Pending,
    }
}

/// The payload GitHub returns, as an object (older deployments may carry a JSON string).
fn payload_object(v: &Value) -> Map<String, Value> {
    match v.get("payload") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        _ => Map::new(),
    }
}

fn status_from_json(v: &Value, url: &str) -> Result<DeploymentStatus> {
    Ok(DeploymentStatus {
        state: state_from_github(&str_field(v, "state")),
        description: str_field(v, "description"),
        created_at: time_field(v, "created_at", url)?,
    })
}

/// A deployment from its JSON and its statuses (GitHub order: newest first).
fn from_json(v: &Value, statuses_newest_first: &[Value], url: &str) -> Result<Deployment> {
    let payload = payload_object(v);
    let mut statuses: Vec<DeploymentStatus> = statuses_newest_first
        .iter()
        .map(|s| status_from_json(s, url))
        .collect::<Result<_>>()?;
    statuses.reverse();
    let user_payload = match payload.get(PAYLOAD) {
        Some(p) => p.clone(),
        None => Value::Object(
            payload
                .iter()
                .filter(|(k, _)| !k.starts_with("relman_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    };
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_string);
    Ok(Deployment {
        id: u64_field(v, "id", url)?,
        environment: str_field(v, "environment"),
        sha: str_field(v, "sha"),
        git_ref: text(REF).unwrap_or_else(|| str_field(v, "ref")),
        created_at: time_field(v, "created_at", url)?,
        creator: text(CREATOR).unwrap_or_else(|| {
            v.get("creator")
                .and_then(|c| opt_str(c, "login"))
                .unwrap_or_default()
        }),
        state: statuses
            .last()
            .map_or(DeploymentState::Pending, |s| s.state),
        statuses,
        idempotency_key: text(KEY).unwrap_or_default(),
        payload: user_payload,
    })
}

/// Every status of deployment `id`, newest first; `None` if the deployment does not exist.
fn statuses(gh: &GitHub, id: u64) -> Result<Option<Vec<Value>>> {
    let url = gh.repo_url(&format!("/deployments/{id}/statuses?per_page=100"));
    gh.client.paginate(&url, Some, |_: &[Value]| false)
}

fn with_statuses(gh: &GitHub, v: &Value, url: &str) -> Result<Deployment> {
    let id = u64_field(v, "id", url)?;
    let statuses = statuses(gh, id)?.unwrap_or_default();
    from_json(v, &statuses, url)
}

/// Walks the deployments to `environment` (newest first, page by page), fetching each one's
/// statuses, until `stop` says enough.
fn walk(
    gh: &GitHub,
    query: &str,
    per_page: usize,
    mut stop: impl FnMut(&Deployment) -> bool,
) -> Result<Vec<Deployment>> {
    let mut out = Vec::new();
    // A deployment made while we page moves every item down one place: the next page starts
    // with one already seen. Ids keep the list free of repeats.
    let mut seen = std::collections::HashSet::new();
    let mut next = Some(gh.repo_url(&format!("/deployments?{query}&per_page={per_page}")));
    let mut pages = gh.client.pages();
    while let Some(url) = next.take() {
        pages.another(client::BACKEND, &client::endpoint(&Method::GET, &url))?;
        let response = gh.client.send(Method::GET, &url, None, Idempotent::Yes)?;
        if response.status.as_u16() != 200 {
            return Err(response.unexpected());
        }
        let page: Vec<Value> = response.json()?;
        for v in &page {
            if !seen.insert(u64_field(v, "id", &url)?) {
                continue;
            }
            let deployment = with_statuses(gh, v, &url)?;
            let done = stop(&deployment);
            out.push(deployment);
            if done {
                return Ok(out);
            }
        }
        next = gh.client.next_page(&response)?;
    }
    Ok(out)
}

pub(super) fn list(gh: &GitHub, environment: &str, limit: usize) -> Result<Vec<Deployment>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let query = format!("environment={}", encode(environment));
    let mut seen = 0;
    walk(gh, &query, limit.min(100), |_| {
        seen += 1;
        seen >= limit
    })
}

pub(super) fn last_successful(gh: &GitHub, environment: &str) -> Result<Option<Deployment>> {
    let query = format!("environment={}", encode(environment));
    let all = walk(gh, &query, 30, Deployment::is_good)?;
    Ok(all.into_iter().last().filter(Deployment::is_good))
}

/// The deployment of `spec.environment` at `spec.sha` carrying the idempotency key, if any.
fn find_by_key(gh: &GitHub, spec: &DeploymentSpec) -> Result<Option<Deployment>> {
    let url = gh.repo_url(&format!(
        "/deployments?environment={}&sha={}&per_page=100",
        encode(&spec.environment),
        encode(&spec.sha)
    ));
    let key = spec.idempotency_key.as_str();
    let found = gh
        .client
        .paginate(&url, Some, |items: &[Value]| {
            items
                .iter()
                .any(|v| payload_object(v).get(KEY).and_then(Value::as_str) == Some(key))
        })?
        .unwrap_or_default();
    match found
        .iter()
        .find(|v| payload_object(v).get(KEY).and_then(Value::as_str) == Some(key))
    {
        Some(v) => with_statuses(gh, v, &url).map(Some),
        None => Ok(None),
    }
}

pub(super) fn create(gh: &GitHub, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
    // Two rounds: a create that failed with a 5xx or without an answer may have gone through,
    // so look again before creating again. Every path of the second round returns (a second failure is the forge's
    // own answer), so the loop never runs a third time.
    let mut first = true;
    loop {
        if let Some(existing) = find_by_key(gh, spec)? {
            if existing.git_ref != spec.git_ref {
                return Err(Error::Conflict {
                    backend: "github".into(),
                    message: format!(
                        "idempotency key `{}` already names deployment {} of ref `{}`, not `{}`",
                        spec.idempotency_key, existing.id, existing.git_ref, spec.git_ref
                    ),
                });
            }
            return Ok(if first {
                Upserted::unchanged(existing)
            } else {
                Upserted::created(existing)
            });
        }
        let mut payload = match &spec.payload {
            Value::Object(m) => m.clone(),
            other => {
                let mut m = Map::new();
                m.insert(PAYLOAD.into(), other.clone());
                m
            }
        };
        payload.insert(KEY.into(), json!(spec.idempotency_key));
        payload.insert(REF.into(), json!(spec.git_ref));
        payload.insert(CREATOR.into(), json!(spec.creator));
        let body = json!({
            "ref": spec.sha,
            "task": "deploy",
            "auto_merge": false,
            "required_contexts": [],
            "environment": spec.environment,
            "description": format!("relman: {} at {}", spec.git_ref, spec.sha),
            "payload": payload,
        });
        let url = gh.repo_url("/deployments");
        let response = match gh
            .client
            .send(Method::POST, &url, Some(&body), Idempotent::No)
        {
            // No answer at all (a timeout, a reset mid-body): the deployment may exist now.
            Err(Error::Api(e)) if first && e.kind == ForgeErrorKind::Transport => {
                tracing::debug!("github: {e}; looking for the deployment before creating it again");
                first = false;
                continue;
            }
            sent => sent?,
        };
        match response.status.as_u16() {
            201 => {
                let v: Value = response.json()?;
                return Ok(Upserted::created(from_json(&v, &[], &url)?));
            }
            s if s >= 500 && first => {}
            _ => return Err(response.unexpected()),
        }
        first = false;
    }
}

pub(super) fn set_status(
    gh: &GitHub,
    id: u64,
    state: DeploymentState,
    description: &str,
) -> Result<Upserted<Deployment>> {
    let url = gh.repo_url(&format!("/deployments/{id}"));
    let Some(v) = gh.client.get_json::<Value>(&url)? else {
        return Err(Error::NotFound {
            backend: "github".into(),
            what: format!("deployment {id}"),
        });
    };
    let mut statuses = statuses(gh, id)?.unwrap_or_default();
    let wanted = state_to_github(state);
    if let Some(latest) = statuses.first()
        && latest.get("state").and_then(Value::as_str) == Some(wanted)
        && str_field(latest, "description") == description
    {
        return Ok(Upserted::unchanged(from_json(&v, &statuses, &url)?));
    }
    let status_url = gh.repo_url(&format!("/deployments/{id}/statuses"));
    let body = json!({ "state": wanted, "description": description });
    let response = gh
        .client
        .send(Method::POST, &status_url, Some(&body), Idempotent::No)?;
    if response.status.as_u16() != 201 {
        return Err(response.unexpected());
    }
    let new: Value = response.json()?;
    statuses.insert(0, new);
    Ok(Upserted::updated(from_json(&v, &statuses, &url)?))
}
