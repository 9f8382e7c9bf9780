//! The `rollback` gate: can this environment be rolled back if the release goes wrong?
//!
//! Two questions, both answered by the forge (the local store by default):
//!
//! - **Is there somewhere to go back to?** The newest known-good deployment
//!   ([`Deployment::is_good`]) to the environment among its last [`DEPLOYMENTS_READ`], whose
//!   commit is not the one being gated: redeploying the release under review is not a rollback.
//! - **Was the procedure exercised recently?** With `drill_within_days: n`, the audit log must
//!   hold a successful rollback drill for the environment in the last `n` days.
//!
//! # The drill record
//!
//! A drill is the typed record [`Drill`] of `relman_core::state`, kept as an audit record
//! (`rollback.drill`, `subject.environment`, `details.result`); this gate reads it through
//! [`Drill::from_audit`], the one definition rollback writes and the gate reads. Anything
//! other than a recorded `success` is a failed drill.
//!
//! A forge without the capabilities this gate reads (deployments, and the audit trail for
//! drills) fails the gate before it runs, naming them ([`crate::forge::capable`]); an
//! [`Error::Unsupported`] met anyway is an error, never a pass.

use jiff::{SignedDuration, Timestamp};
use relman_core::Error;
use relman_core::config;
use relman_core::state::{DRILL_ACTION, Drill, DrillResult};
use relman_forge::{AuditFilter, Deployment};
use serde_json::json;

use crate::{Context, Finding, Status};

#[cfg(test)]
mod tests;

/// Deployments read to find a rollback target: enough to skip a run of failed or same-commit
/// deployments, bounded so a long history does not turn into hundreds of API pages.
pub const DEPLOYMENTS_READ: usize = 100;

const SECONDS_PER_DAY: i64 = 24 * 60 * 60;

/// Evaluates the gate.
pub fn evaluate(spec: &config::RollbackGate, cx: &Context) -> Result<Finding, Error> {
    let env = spec.environment.as_deref().unwrap_or(&cx.environment);
    let forge = cx.forge.name();
    let mut explain = Vec::new();
    let mut evidence = Vec::new();

    // The newest good deployment is nearly always the target (it runs what the release
    // replaces), and a forge finds it in a request or two; on GitHub every listed deployment
    // costs one more request for its statuses, so the long listing is only the fallback.
    let newest_good = match &cx.deployment {
        Some(known) if env == cx.environment => known.clone(),
        _ => cx.forge.last_successful_deployment(env)?,
    };
    let deployments = match newest_good {
        Some(d) if !same_commit(&d.sha, &cx.change.head_sha) => {
            explain.push(format!(
                "asked the {forge} forge for the newest successful deployment to {env}: {}",
                d.id
            ));
            vec![d]
        }
        _ => {
            let all = cx.forge.deployments(env, DEPLOYMENTS_READ)?;
            explain.push(format!(
                "asked the {forge} forge for the last {DEPLOYMENTS_READ} deployments to {env}: {} returned",
                all.len()
            ));
            all
        }
    };
    let target = rollback_target(&deployments, &cx.change.head_sha);
    let mut failures = Vec::new();
    match target {
        Some(d) => evidence.push(format!(
            "rollback target: deployment {} of {} ({}, {})",
            d.id,
            short(&d.sha),
            d.git_ref,
            d.created_at
        )),
        None => failures.push(format!(
            "no earlier successful deployment to {env} to roll back to"
        )),
    }
    if target.is_none() && deployments.iter().any(|d| d.is_good()) {
        evidence.push(format!(
            "only the release being gated ({}) was deployed successfully",
            short(&cx.change.head_sha)
        ));
    }

    let mut last_drill = None;
    let mut summary = None;
    if let Some(days) = spec.drill_within_days {
        let drills = Drills::read(cx, env, days, &mut explain)?;
        for record in &drills.failed {
            evidence.push(format!(
                "rollback drill on {} failed ({}) by {}{}",
                record.when,
                record.result.as_str(),
                record.actor,
                if record.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", record.reason)
                }
            ));
        }
        match &drills.success {
            Some(ok) => {
                evidence.push(format!(
                    "rollback drill on {} succeeded (by {})",
                    ok.when, ok.actor
                ));
                summary = Some(format!("last drill {} ago", age_text(ok, cx.now)));
            }
            None => failures.push(format!(
                "no successful rollback drill for {env} in the last {days} days (last: {})",
                drills.last.as_ref().map_or_else(
                    || "never".to_string(),
                    |r| format!("{}, {}", date_of(r), r.result.as_str())
                )
            )),
        }
        last_drill = drills.success.or(drills.last);
    }

    let reason = if failures.is_empty() {
        let mut reason = match target {
            Some(d) => format!(
                "can roll back {env} to {} (deployment {})",
                short(&d.sha),
                d.id
            ),
            None => format!("can roll back {env}"),
        };
        if let Some(summary) = summary {
            reason.push_str("; ");
            reason.push_str(&summary);
        }
        reason
    } else {
        failures.join("; ")
    };
    let mut finding = Finding::new(
        if failures.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        reason,
    );
    finding.evidence = evidence;
    finding.explain = explain;
    finding.facts = json!({
        "environment": env,
        "target": target.map(|d| json!({"id": d.id, "sha": d.sha, "created_at": d.created_at})),
        "last_drill": last_drill.as_ref().map(|r| json!({"when": r.when, "result": r.result})),
        "drill_age_days": last_drill.as_ref().map(|r| age_days(r, cx.now)),
    });
    Ok(finding)
}

/// The newest known-good deployment of another commit than `head_sha`.
fn rollback_target<'a>(deployments: &'a [Deployment], head_sha: &str) -> Option<&'a Deployment> {
    deployments
        .iter()
        .find(|d| d.is_good() && !same_commit(&d.sha, head_sha))
}

/// Shas compared case-insensitively and by prefix: a forge may hold an abbreviated sha.
fn same_commit(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.starts_with(&b) || b.starts_with(&a)
}

/// The drills the audit log holds for one environment.
struct Drills {
    /// Newest successful drill in the window.
    success: Option<Drill>,
    /// Failed drills in the window, oldest first.
    failed: Vec<Drill>,
    /// Without a success: the newest drill in the window, else the newest before it.
    last: Option<Drill>,
}

impl Drills {
    fn read(cx: &Context, env: &str, days: u32, explain: &mut Vec<String>) -> Result<Self, Error> {
        let since = cx
            .now
            .checked_sub(SignedDuration::from_secs(i64::from(days) * SECONDS_PER_DAY))
            .map_err(|e| Error::Usage(format!("rollback: drill_within_days: {days}: {e}")))?;
        let filter = AuditFilter {
            action: Some(DRILL_ACTION.into()),
            environment: Some(env.into()),
            since: Some(since),
            until: Some(cx.now),
            ..AuditFilter::default()
        };
        let records: Vec<Drill> = cx
            .forge
            .audit_log(&filter)?
            .iter()
            .filter_map(Drill::from_audit)
            .collect();
        explain.push(format!(
            "read the {} forge's audit log for `{DRILL_ACTION}` in {env} since {since}: {} records",
            cx.forge.name(),
            records.len()
        ));
        let (ok, failed): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|d| d.result == DrillResult::Success);
        let success = ok.into_iter().last();
        let last = if success.is_some() {
            None
        } else if let Some(newest) = failed.last() {
            Some(newest.clone())
        } else {
            // Only for the message: when was the procedure last exercised at all?
            let before = AuditFilter {
                since: None,
                until: Some(since),
                limit: Some(1),
                ..filter
            };
            let older = cx
                .forge
                .audit_log(&before)?
                .iter()
                .rev()
                .find_map(Drill::from_audit);
            explain.push(format!(
                "looked for an older `{DRILL_ACTION}` record in {env}: {}",
                older
                    .as_ref()
                    .map_or_else(|| "none".to_string(), |r| r.when.to_string())
            ));
            older
        };
        Ok(Drills {
            success,
            failed,
            last,
        })
    }
}

fn date_of(record: &Drill) -> String {
    record
        .when
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// Whole days between the record and `now`.
fn age_days(record: &Drill, now: Timestamp) -> i64 {
    now.duration_since(record.when)
        .as_secs()
        .div_euclid(SECONDS_PER_DAY)
}

fn age_text(record: &Drill, now: Timestamp) -> String {
    match age_days(record, now) {
        0 => "less than a day".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
