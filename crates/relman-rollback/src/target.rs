//! Which deployment a rollback goes back to, from the environment's history (newest first).
//!
//! - The **current** deployment is the newest one, whatever its state: the one being rolled
//!   back from (a deploy job that just failed, or a release that went out and broke).
//! - The **target**, without `--to`, is the newest older deployment that is known-good
//!   ([`Deployment::is_good`]: its last status other than `inactive` is `success`) and runs
//!   another commit than the current one. Deployments that failed, errored, were cancelled,
//!   are still pending, or went inactive without ever succeeding are skipped, each with the
//!   reason. A success a forge later marked `inactive` (GitHub does so to every older
//!   deployment when a newer one succeeds) stays a target: superseded is not bad. A rollback
//!   marks the deployment it leaves `failure`, so it is never picked again.
//! - With `--to`, the deployment named by id, else by ref (a version such as `v1.2.0` or
//!   `1.2.0`), else by sha (7 to 40 hex digits, a prefix); it must be known-good and not the
//!   current one.

use relman_forge::{Deployment, DeploymentState};
use serde::Serialize;

/// Deployments read from the forge: enough to skip a run of failed ones, bounded so a long
/// history is not hundreds of API pages.
pub const DEPLOYMENTS_READ: usize = 100;

/// A deployment, as reports and records name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeploymentRef {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub state: String,
    pub created_at: String,
}

impl From<&Deployment> for DeploymentRef {
    fn from(d: &Deployment) -> Self {
        DeploymentRef {
            id: d.id,
            sha: d.sha.clone(),
            git_ref: d.git_ref.clone(),
            state: d.state.as_str().into(),
            created_at: d.created_at.to_string(),
        }
    }
}

/// The target found, with what was passed over on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    pub current: Option<Deployment>,
    pub target: Deployment,
    /// Why each newer deployment was not the target, newest first.
    pub skipped: Vec<String>,
}

/// Picks the target in `history` (newest first), or says why there is none.
pub fn pick(environment: &str, history: &[Deployment], to: Option<&str>) -> Result<Picked, String> {
    let Some(current) = history.first() else {
        return Err(format!(
            "no deployment to {environment} is recorded on the forge: nothing to roll back to"
        ));
    };
    match to.map(str::trim).filter(|t| !t.is_empty()) {
        Some(to) => named(environment, history, to),
        None => newest_good(environment, history, current),
    }
}

fn newest_good(
    environment: &str,
    history: &[Deployment],
    current: &Deployment,
) -> Result<Picked, String> {
    let mut skipped = Vec::new();
    for d in &history[1..] {
        if same_commit(&d.sha, &current.sha) {
            skipped.push(format!(
                "deployment {} runs the current commit {}",
                d.id,
                short(&d.sha)
            ));
        } else if !d.is_good() {
            skipped.push(format!(
                "deployment {} of {}: {}",
                d.id,
                short(&d.sha),
                why_not_good(d)
            ));
        } else {
            return Ok(Picked {
                current: Some(current.clone()),
                target: d.clone(),
                skipped,
            });
        }
    }
    let read = if history.len() >= DEPLOYMENTS_READ {
        format!("the last {DEPLOYMENTS_READ}")
    } else {
        format!("{}", history.len())
    };
    let mut reason = format!(
        "no successful deployment to {environment} of another commit than the current one \
         (deployment {} of {}) among {read} deployments",
        current.id,
        short(&current.sha)
    );
    if !skipped.is_empty() {
        reason.push_str(&format!(": {}", skipped.join("; ")));
    }
    Err(reason)
}

fn named(environment: &str, history: &[Deployment], to: &str) -> Result<Picked, String> {
    let by_id = to
        .parse::<u64>()
        .ok()
        .and_then(|id| history.iter().find(|d| d.id == id));
    let bare = |r: &str| r.strip_prefix('v').unwrap_or(r).to_string();
    let by_ref = || {
        history
            .iter()
            .find(|d| d.git_ref == to || bare(&d.git_ref) == bare(to))
    };
    let hex = (7..=40).contains(&to.len()) && to.bytes().all(|b| b.is_ascii_hexdigit());
    let by_sha = || {
        hex.then(|| {
            history
                .iter()
                .find(|d| d.is_good() && same_commit(&d.sha, to))
        })
        .flatten()
        .or_else(|| {
            hex.then(|| history.iter().find(|d| same_commit(&d.sha, to)))
                .flatten()
        })
    };
    let Some(target) = by_id.or_else(by_ref).or_else(by_sha) else {
        return Err(format!(
            "--to {to}: no deployment to {environment} with that id, ref or sha among the last \
             {} deployments",
            history.len()
        ));
    };
    let current = &history[0];
    if target.id == current.id {
        return Err(format!(
            "--to {to} names deployment {}, the current one: nothing to roll back to",
            target.id
        ));
    }
    if !target.is_good() {
        return Err(format!(
            "--to {to} names deployment {} of {}, which is not known-good ({}): name one that \
             succeeded",
            target.id,
            short(&target.sha),
            why_not_good(target)
        ));
    }
    Ok(Picked {
        current: Some(current.clone()),
        target: target.clone(),
        skipped: Vec::new(),
    })
}

fn why_not_good(d: &Deployment) -> String {
    let last = d
        .statuses
        .iter()
        .rev()
        .find(|s| s.state != DeploymentState::Inactive)
        .map(|s| s.state);
    match (d.state, last) {
        (DeploymentState::Inactive, None) => "inactive, never successful".into(),
        (_, None) => format!("{}, never successful", d.state),
        (_, Some(s)) if d.state == DeploymentState::Inactive => format!("inactive after {s}"),
        (_, Some(s)) => s.to_string(),
    }
}

/// Shas compared case-insensitively and by prefix: a forge may hold an abbreviated sha.
pub fn same_commit(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.starts_with(&b) || b.starts_with(&a)
}

pub fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests;
