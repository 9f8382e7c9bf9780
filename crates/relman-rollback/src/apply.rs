//! Acting on a decision, in a fixed order:
//!
//! 0. **ask** the forge whether it can carry this dispatch out ([`crate::capable`]): send it,
//!    follow its run (unless `--no-follow`), validate it in a drill; refused (exit 2) before
//!    anything is written when it cannot;
//! 1. **claim** the idempotency key on the state branch, with the `rollback.start` audit record
//!    in the same commit; taken already → dispatch nothing, report (and follow) the first;
//! 2. **dispatch** (forge workflow / repository_dispatch / job or pipeline, a deployment, or
//!    the local command), then record what was sent (`rollback.dispatch`);
//! 3. **mark** the deployment rolled back from `failure`, so no later rollback picks it;
//! 4. **follow** the run to the end or the timeout; when it succeeded and the environment has
//!    `verify:` probes, run them until the service passes or their window closes
//!    ([`crate::verify`]); record how it ended (`rollback.outcome`: `succeeded`, or
//!    `verified` / `verification-failed`, `failed`, `cancelled`, `timed-out`);
//! 5. **publish**: stdout (text or JSON, through the untrusted writer), the job summary, the
//!    outputs.
//!
//! A claim that cannot be pushed stops everything before the dispatch (exit 3 naming the
//! permission): an unrecorded rollback is not done. A run that failed, was cancelled or timed
//! out, or a service that did not pass its verification, is exit 3 and says where to look.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use relman_core::audit::{AuditRecord, Subject, now_rfc3339};
use relman_core::ci::Runtime;
use relman_core::{Error, ExitCode};
use relman_forge::{DeploymentState, Forge, RunState, RunStatus};

use crate::claim::{self, Claim, Claimed, Dispatched, Ended};
use crate::cli::Format;
use crate::decide::{Decision, Mode, Resolution, Resolved};
use crate::follow::{Clock, Followed, follow};
use crate::plan::Dispatch;
use crate::report::Report;
use crate::verify::Verify;
use crate::{drill, outputs};

/// Where and how a decision is carried out.
pub struct Effects<'a> {
    /// The CI the run reports to (outputs, summary, log escaping).
    pub runtime: &'a Runtime,
    pub forge: &'a dyn Forge,
    /// Where claims go.
    pub state: &'a relman_core::state::StateStore,
    pub format: Format,
    /// `--dry-run`: print the target and the dispatch, write nothing.
    pub dry_run: bool,
    /// Follow the dispatched run to the end (not `--no-follow`).
    pub follow: bool,
    pub clock: &'a dyn Clock,
    /// Where a command runs (the repository).
    pub dir: PathBuf,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Effects<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("forge", &self.forge.name())
            .field("dry_run", &self.dry_run)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

/// A run's end: its exit code and its report.
#[derive(Debug, Clone)]
pub struct Applied {
    pub code: ExitCode,
    pub report: Report,
}

/// Carries out `decision`; stdout to `out`, progress lines to `progress`.
pub fn apply(
    decision: Decision,
    fx: &Effects,
    out: &mut dyn Write,
    progress: &mut dyn Write,
) -> Result<Applied, Error> {
    // Asked before the first write (and in a dry run, which must show the refusal too).
    if let Resolution::Target(r) = &decision.resolution {
        crate::capable::require(&decision, r, fx.forge, fx.follow)?;
    }
    let mut report = Report::new(&decision, fx.dry_run);
    let code = match &decision.resolution {
        Resolution::NoTarget(reason) => {
            report.outcome = "no-target".into();
            report.summary = reason.clone();
            if decision.mode != Mode::Rollback && !fx.dry_run {
                drill::record(&decision, fx, false, &mut report)?;
            }
            ExitCode::Refused
        }
        _ if fx.dry_run => {
            report.outcome = "dry-run".into();
            report.summary = match &decision.resolution {
                Resolution::Earlier(c) => {
                    report.first = Some((**c).clone());
                    format!(
                        "a dry run: this incident's rollback was already claimed by {} at {}; \
                         nothing would be dispatched",
                        c.actor, c.claimed_at
                    )
                }
                _ => "a dry run: nothing was claimed, dispatched or recorded".into(),
            };
            ExitCode::Success
        }
        Resolution::Earlier(first) => first_one(&decision, first, fx, progress, &mut report)?,
        Resolution::Target(r) if decision.mode == Mode::DrillValidate => {
            drill::validate(&decision, r, fx, &mut report)?
        }
        Resolution::Target(r) => execute(&decision, r, fx, out, progress, &mut report)?,
    };
    publish(&report, fx, out)?;
    Ok(Applied { code, report })
}

fn record(d: &Decision, action: &str, why: &str, details: serde_json::Value) -> AuditRecord {
    AuditRecord {
        reason: why.to_string(),
        subject: Subject {
            environment: Some(d.environment.clone()),
            ..Subject::default()
        },
        details,
        run: d.run_url.clone(),
        ..AuditRecord::now(&d.actor, action)
    }
}

/// Claim, dispatch, mark, follow.
fn execute(
    d: &Decision,
    r: &Resolved,
    fx: &Effects,
    out: &mut dyn Write,
    progress: &mut dyn Write,
    report: &mut Report,
) -> Result<ExitCode, Error> {
    let mut claim = Claim {
        key: r.key.clone(),
        environment: d.environment.clone(),
        from: r.current.clone(),
        to: r.target.clone(),
        incident: d.why.incident.clone(),
        reason: d.why.reason.clone(),
        digest: d.why.digest(),
        actor: d.actor.clone(),
        claimed_at: now_rfc3339(),
        run: d.run_url.clone(),
        drill: d.mode == Mode::DrillExecute,
        dispatched: None,
        ended: None,
    };
    let mut start = record(
        d,
        "rollback.start",
        &d.why.reason,
        serde_json::json!({
            "key": r.key, "incident": d.why.incident, "drill": claim.drill,
            "from": r.current, "to": r.target, "dispatch": r.dispatch.describe(),
        }),
    );
    start.subject.sha = Some(r.target.sha.clone());
    if let Claimed::Existing(first) = claim::claim(fx.state, &claim, &start)? {
        return first_one(d, &first, fx, progress, report);
    }
    tracing::info!("claimed {}", r.key);

    // Dispatch. A command is dispatched and followed in one go.
    if let Dispatch::Command { argv } = &r.dispatch {
        return command(d, r, argv, claim, fx, out, progress, report);
    }
    let sent = match send(&r.dispatch, fx.forge) {
        Ok(s) => s,
        Err(e) => {
            claim.ended = Some(Ended {
                state: "dispatch-failed".into(),
                url: None,
                detail: e.to_string(),
                at: now_rfc3339(),
            });
            let why = format!("dispatch failed: {e}");
            let rec = record(
                d,
                "rollback.outcome",
                &why,
                serde_json::json!({"key": r.key, "state": "dispatch-failed"}),
            );
            if let Err(record_error) = claim::update(fx.state, &claim, &rec) {
                tracing::warn!("{record_error}");
            }
            return Err(e);
        }
    };
    claim.dispatched = Some(sent.clone());
    let rec = record(
        d,
        "rollback.dispatch",
        &d.why.reason,
        serde_json::json!({
            "key": r.key, "kind": sent.kind, "id": sent.id, "url": sent.url,
            "from": r.current.as_ref().map(|c| c.id), "to": r.target.id,
        }),
    );
    claim = claim::update(fx.state, &claim, &rec)?;
    report.dispatched = Some(sent.clone());
    mark_rolled_back(d, r, fx.forge, report);

    if !fx.follow {
        report.outcome = "dispatched".into();
        report.summary = format!(
            "dispatched, not followed (--no-follow){}{}",
            sent.url
                .as_deref()
                .map(|u| format!(": {u}"))
                .unwrap_or_default(),
            if d.verify.is_some() {
                "; not verified (verification runs after a followed run succeeded)"
            } else {
                ""
            }
        );
        return Ok(exit(report));
    }
    let ended = watch(d, &sent, fx, progress, report)?;
    finish(d, claim, ended, fx, progress, report)
}

/// What the forge was sent.
fn send(dispatch: &Dispatch, forge: &dyn Forge) -> Result<Dispatched, Error> {
    let at = now_rfc3339();
    Ok(match dispatch {
        Dispatch::Deployment { spec } => {
            let made = forge.create_deployment(spec)?.into_value();
            Dispatched {
                kind: "deployment".into(),
                id: made.id,
                url: None,
                record: None,
                at,
            }
        }
        Dispatch::Command { .. } => {
            return Err(Error::Usage(
                "a command is run by relman, not sent to the forge".into(),
            ));
        }
        other => {
            let Some(spec) = other.spec() else {
                return Err(Error::Usage("nothing to dispatch".into()));
            };
            let kind = match other {
                Dispatch::Workflow { .. } => "workflow",
                Dispatch::RepositoryDispatch { .. } => "repository_dispatch",
                _ if spec.workflow.starts_with(relman_forge::JOB_PREFIX) => "job",
                _ => "pipeline",
            };
            let made = forge.dispatch(spec)?.into_value();
            Dispatched {
                kind: kind.into(),
                id: made.id,
                url: made.run_url.clone(),
                record: Some(made),
                at,
            }
        }
    })
}

/// Marks the deployment rolled back from as failed (a later rollback must never pick it). A
/// forge that refuses is a problem of the run (exit 3), not a reason to stop the rollback.
fn mark_rolled_back(d: &Decision, r: &Resolved, forge: &dyn Forge, report: &mut Report) {
    let Some(current) = &r.current else { return };
    if matches!(current.state.as_str(), "failure" | "error") {
        return;
    }
    let description = format!(
        "rolled back to deployment {} ({})",
        r.target.id, d.why.reason
    );
    let description: String = description.chars().take(140).collect();
    if let Err(e) = forge.set_deployment_status(current.id, DeploymentState::Failure, &description)
    {
        report.problems.push(format!(
            "could not mark deployment {} failed ({e}): a later rollback could pick it; mark it \
             on the forge",
            current.id
        ));
    }
}

/// Follows what was sent until it ends.
fn watch(
    d: &Decision,
    sent: &Dispatched,
    fx: &Effects,
    progress: &mut dyn Write,
    report: &mut Report,
) -> Result<Option<Followed>, Error> {
    let what = sent.describe();
    let mut status: Box<dyn FnMut() -> Result<RunStatus, Error> + '_> = match &sent.record {
        Some(rec) => {
            let rec = rec.clone();
            Box::new(move || fx.forge.run_status(&rec))
        }
        None if sent.kind == "deployment" => {
            let (env, id) = (d.environment.clone(), sent.id);
            Box::new(move || deployment_status(fx.forge, &env, id))
        }
        None => {
            report
                .problems
                .push(format!("{what} cannot be followed: nothing to look at"));
            return Ok(None);
        }
    };
    match follow(&what, &mut *status, d.poll, d.timeout, fx.clock, progress) {
        Ok(f) => Ok(Some(f)),
        Err(e @ Error::Unsupported { .. }) => {
            report.problems.push(format!(
                "{what} was dispatched but cannot be followed: {e}; whether the rollback worked \
                 is unknown (look at the forge; --no-follow does not wait)"
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A deployment as a run: its state on the forge.
fn deployment_status(forge: &dyn Forge, environment: &str, id: u64) -> Result<RunStatus, Error> {
    let found = forge
        .deployments(environment, crate::target::DEPLOYMENTS_READ)?
        .into_iter()
        .find(|x| x.id == id);
    let Some(dep) = found else {
        return Err(Error::NotFound {
            backend: forge.name().into(),
            what: format!("deployment {id} of {environment}"),
        });
    };
    let state = match dep.state {
        DeploymentState::Success => RunState::Succeeded,
        DeploymentState::Failure | DeploymentState::Error => RunState::Failed,
        DeploymentState::Cancelled | DeploymentState::Inactive => RunState::Cancelled,
        DeploymentState::InProgress => RunState::Running,
        DeploymentState::Pending | DeploymentState::Queued => RunState::Pending,
    };
    Ok(RunStatus {
        state,
        id: Some(id),
        url: None,
        detail: format!("deployment {}", dep.state),
    })
}

/// Verifies a run that succeeded (when the environment has probes), records how the rollback
/// ended and says it; a drill executed records its drill.
fn finish(
    d: &Decision,
    mut claim: Claim,
    followed: Option<Followed>,
    fx: &Effects,
    progress: &mut dyn Write,
    report: &mut Report,
) -> Result<ExitCode, Error> {
    let Some(f) = followed else {
        report.outcome = "unknown".into();
        report.summary = "dispatched; how it ended is unknown".into();
        return Ok(ExitCode::External);
    };
    let status = f.status();
    // GitHub answers a dispatch without the run's id; the follower found the run.
    if let Some(sent) = report.dispatched.as_mut() {
        sent.learn(status.id, status.url.as_deref());
    }
    if let Some(sent) = claim.dispatched.as_mut() {
        sent.learn(status.id, status.url.as_deref());
    }
    let mut ended = Ended {
        state: f.outcome().into(),
        url: status.url.clone(),
        detail: status.detail.clone(),
        at: now_rfc3339(),
    };
    if f.succeeded()
        && let Some(v) = &d.verify
    {
        let checked = crate::verify::verify(v, &Verify::round, fx.clock, progress);
        ended.state = if checked.passed {
            "verified"
        } else {
            "verification-failed"
        }
        .into();
        ended.detail = checked.summary.clone();
        ended.at = now_rfc3339();
        report.verification = Some(checked);
    }
    claim.ended = Some(ended.clone());
    let rec = record(
        d,
        "rollback.outcome",
        &d.why.reason,
        serde_json::json!({
            "key": claim.key, "state": ended.state, "url": ended.url, "detail": ended.detail,
            "verification": report.verification,
        }),
    );
    let kept = claim::update(fx.state, &claim, &rec)?;
    let ended = kept.ended.unwrap_or(ended);
    report.outcome = ended.state.clone();
    report.summary = ended_summary(&ended, report.dispatched.as_ref(), d.timeout);
    report.ended = Some(ended.clone());
    if d.mode == Mode::DrillExecute {
        let passed = matches!(ended.state.as_str(), "succeeded" | "verified");
        drill::record(d, fx, passed, report)?;
    }
    Ok(exit(report))
}

fn ended_summary(e: &Ended, sent: Option<&Dispatched>, timeout: Duration) -> String {
    let place = e
        .url
        .clone()
        .or_else(|| sent.and_then(|s| s.url.clone()))
        .map(|u| format!("look at {u}"))
        .unwrap_or_else(|| "look at the forge's runs of the rollback workflow".into());
    match e.state.as_str() {
        "succeeded" => "rolled back: the dispatched run succeeded".into(),
        "verified" => format!(
            "rolled back and verified: the dispatched run succeeded and {}",
            e.detail
        ),
        "verification-failed" => format!(
            "the dispatched run succeeded but the service did not pass its verification: {}; \
             look at the service and at {}",
            e.detail,
            place.trim_start_matches("look at ")
        ),
        "timed-out" => format!(
            "the dispatched run did not finish within {}s; it may still be running: {place}",
            timeout.as_secs()
        ),
        other => format!("the rollback {other}: {place}"),
    }
}

/// Exit 0 only for a rollback that succeeded (or was only dispatched) with nothing amiss.
fn exit(report: &Report) -> ExitCode {
    let ok = matches!(
        report.outcome.as_str(),
        "succeeded" | "verified" | "dispatched" | "drill-passed" | "dry-run"
    );
    if ok && report.problems.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::External
    }
}

/// The local command: claimed, run, recorded.
#[allow(clippy::too_many_arguments)] // the run's parts, as `execute` holds them
fn command(
    d: &Decision,
    r: &Resolved,
    argv: &[String],
    mut claim: Claim,
    fx: &Effects,
    out: &mut dyn Write,
    progress: &mut dyn Write,
    report: &mut Report,
) -> Result<ExitCode, Error> {
    let sent = Dispatched {
        kind: "command".into(),
        id: 0,
        url: None,
        record: None,
        at: now_rfc3339(),
    };
    claim.dispatched = Some(sent.clone());
    let rec = record(
        d,
        "rollback.dispatch",
        &d.why.reason,
        serde_json::json!({"key": r.key, "kind": "command", "argv": argv, "to": r.target.id}),
    );
    claim = claim::update(fx.state, &claim, &rec)?;
    report.dispatched = Some(sent);
    let ran = crate::command::run(argv, &fx.dir, d.timeout, fx.clock);
    let ran = match ran {
        Ok(ran) => ran,
        Err(e) => {
            let failed = Followed::Finished(RunStatus {
                state: RunState::Failed,
                id: None,
                url: None,
                detail: e.to_string(),
            });
            mark_rolled_back(d, r, fx.forge, report);
            finish(d, claim, Some(failed), fx, progress, report)?;
            return Err(e);
        }
    };
    {
        let mut w = fx.runtime.untrusted(out)?;
        w.write(&format!("--- output of {} ---\n", argv[0]))?;
        w.write(&ran.output)?;
        if !ran.output.is_empty() && !ran.output.ends_with('\n') {
            w.write("\n")?;
        }
        w.finish()?;
    }
    mark_rolled_back(d, r, fx.forge, report);
    let state = match ran.state {
        "succeeded" => RunState::Succeeded,
        _ => RunState::Failed,
    };
    let status = RunStatus {
        state,
        id: None,
        url: None,
        detail: ran.detail.clone(),
    };
    let followed = if ran.state == "timed-out" {
        Followed::TimedOut(status)
    } else {
        Followed::Finished(status)
    };
    finish(d, claim, Some(followed), fx, progress, report)
}

/// How long a trigger that lost the race waits for the first one to record what it sent. The
/// first records it as soon as the forge answers its request (seconds); a claim older than
/// this with nothing recorded belongs to a run that stopped, and waiting would not help.
const DISPATCH_RECORD_WAIT: Duration = Duration::from_secs(60);

/// The first trigger's claim once it records its dispatch (or ends), re-read from the remote
/// every few seconds for at most [`DISPATCH_RECORD_WAIT`] — only while the claim is younger
/// than that. Two triggers fired together by one alert would otherwise leave the slower one
/// red with "unknown" although the rollback is on its way.
fn await_dispatch_record(
    d: &Decision,
    first: &Claim,
    fx: &Effects,
    progress: &mut dyn Write,
) -> Result<Claim, Error> {
    let age = first
        .claimed_at
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|at| jiff::Timestamp::now().duration_since(at).as_secs());
    // Either side of now: runners' clocks differ by a few seconds.
    let young = age.is_some_and(|s| s.unsigned_abs() < DISPATCH_RECORD_WAIT.as_secs());
    if !young {
        return Ok(first.clone());
    }
    let wait = DISPATCH_RECORD_WAIT.min(d.timeout);
    let every = d
        .poll
        .clamp(Duration::from_millis(200), Duration::from_secs(2));
    let _ = writeln!(
        progress,
        "relman: this rollback was claimed {}s ago by another run; waiting up to {}s for it to \
         record what it sent",
        age.unwrap_or(0).max(0),
        wait.as_secs()
    );
    let start = fx.clock.elapsed();
    let mut latest = first.clone();
    while latest.dispatched.is_none()
        && latest.ended.is_none()
        && fx.clock.elapsed().saturating_sub(start) < wait
    {
        fx.clock.sleep(every);
        if let Some(now) = claim::reread(fx.state, first)? {
            latest = now;
        }
    }
    Ok(latest)
}

/// Another trigger claimed this rollback first: dispatch nothing; report it, and follow its
/// run when it was dispatched and has not ended.
fn first_one(
    d: &Decision,
    first: &Claim,
    fx: &Effects,
    progress: &mut dyn Write,
    report: &mut Report,
) -> Result<ExitCode, Error> {
    let first = &match (&first.dispatched, &first.ended) {
        (None, None) => await_dispatch_record(d, first, fx, progress)?,
        _ => first.clone(),
    };
    report.first = Some(first.clone());
    report.key = Some(first.key.clone());
    report.from = first.from.clone();
    report.to = Some(first.to.clone());
    report.dispatched = first.dispatched.clone();
    let by = format!(
        "claimed by {} at {}{}",
        first.actor,
        first.claimed_at,
        first
            .run
            .as_deref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default()
    );
    if let Some(ended) = &first.ended {
        report.outcome = ended.state.clone();
        report.ended = Some(ended.clone());
        report.summary = format!(
            "this rollback was already done ({by}); nothing dispatched again: {}",
            ended_summary(ended, first.dispatched.as_ref(), d.timeout)
        );
        return Ok(exit(report));
    }
    let Some(sent) = &first.dispatched else {
        report.outcome = "unknown".into();
        report.summary = format!(
            "this rollback was {by} but no dispatch is recorded: that run is still dispatching, \
             or stopped before it recorded what it sent. Nothing was dispatched by this run. \
             Look at that run and at the forge's runs; to roll back anyway, run again with \
             another --incident or --reason (a new key)"
        );
        return Ok(ExitCode::External);
    };
    if !fx.follow || sent.kind == "command" {
        report.outcome = "dispatched".into();
        report.summary =
            format!("this rollback was already dispatched ({by}); nothing dispatched again");
        return Ok(if sent.kind == "command" {
            ExitCode::External
        } else {
            exit(report)
        });
    }
    let followed = watch(d, sent, fx, progress, report)?;
    let result = finish(d, first.clone(), followed, fx, progress, report);
    report.summary = format!(
        "already dispatched ({by}), followed here: {}",
        report.summary
    );
    result
}

/// Prints the report, appends the job summary, sets the outputs.
fn publish(report: &Report, fx: &Effects, out: &mut dyn Write) -> Result<(), Error> {
    let rt = fx.runtime;
    {
        let mut w = rt.untrusted(out)?;
        match fx.format {
            Format::Text => w.write(&report.text())?,
            Format::Json => {
                let json = serde_json::to_string_pretty(report)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                w.write(&format!("{json}\n"))?;
            }
        }
        w.finish()?;
    }
    rt.append_summary(out, &report.markdown())?;
    out.flush().map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: e,
    })?;
    rt.set_output(outputs::OUTCOME.name, &report.outcome)?;
    if let Some(to) = &report.to {
        rt.set_output(outputs::TARGET_SHA.name, &to.sha)?;
        rt.set_output(outputs::TARGET_DEPLOYMENT.name, &to.id.to_string())?;
    }
    if let Some(s) = &report.dispatched {
        rt.set_output(outputs::DISPATCH_ID.name, &s.id.to_string())?;
        if let Some(u) = &s.url {
            rt.set_output(outputs::DISPATCH_URL.name, u)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
