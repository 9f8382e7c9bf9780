//! Drills: proof beforehand that a rollback would work, recorded for the gate.
//!
//! `--drill` in an environment with `drill: validate` resolves the target and asks the forge
//! whether the dispatch would be accepted ([`Forge::validate_dispatch`]: the workflow or job
//! exists, required inputs are given, the token may dispatch) without running anything; with
//! `drill: execute` it rolls back for real (see [`crate::apply`]). Either way the result is a
//! typed [`Drill`] record in the audit trail, which the gate's `rollback: { drill_within_days }`
//! reads from any later job. A drill passes only on what it verified: no target, a problem
//! the forge found is a failed drill; a forge that cannot validate is refused before the drill
//! starts ([`crate::capable`]), and an [`Error::Unsupported`] it answers anyway fails it. What the forge could
//! not verify without writing is listed in the record and the output, and does not fail it.
//! With `verify:` probes, a validating drill also runs one round of them: a probe that cannot
//! reach its service or finds no data now would fail the real verification too.

use relman_core::audit::now_second;
use relman_core::state::{Drill, DrillResult};
use relman_core::{Error, ExitCode};
use relman_forge::DispatchCheck;

use crate::apply::Effects;
use crate::decide::{Decision, Resolved};
use crate::plan::Dispatch;
use crate::report::Report;

/// Validates the dispatch of `r` and records the drill.
pub fn validate(
    d: &Decision,
    r: &Resolved,
    fx: &Effects,
    report: &mut Report,
) -> Result<ExitCode, Error> {
    let mut check = check(&r.dispatch, fx)?;
    check.checked.insert(
        0,
        format!(
            "target resolved: deployment {} of {} ({})",
            r.target.id, r.target.sha, r.target.git_ref
        ),
    );
    // The verification's probes, once: one that cannot reach its service or gets no data now
    // would fail the real rollback's verification too.
    if let Some(v) = &d.verify {
        for o in v.round().all() {
            let line = format!("verify: {}", o.evidence);
            if o.ok {
                check.checked.push(line);
            } else {
                check.problems.push(line);
            }
        }
    }
    let passed = check.problems.is_empty();
    report.summary = if passed {
        format!(
            "drill passed: the rollback to deployment {} would be accepted{}",
            r.target.id,
            if check.unverified.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} item(s) not verifiable without running it)",
                    check.unverified.len()
                )
            }
        )
    } else {
        format!("drill failed: {}", check.problems.join("; "))
    };
    report.check = Some(check);
    record(d, fx, passed, report)?;
    Ok(if passed {
        ExitCode::Success
    } else {
        ExitCode::Refused
    })
}

/// What the forge (or, for a command, this machine) says of the dispatch.
fn check(dispatch: &Dispatch, fx: &Effects) -> Result<DispatchCheck, Error> {
    match dispatch {
        Dispatch::Command { argv } => {
            let mut c = DispatchCheck::default();
            let path = (fx.env)("PATH");
            match crate::command::findable(&argv[0], &fx.dir, path.as_deref()) {
                Ok(found) => c.checked.push(found),
                Err(problem) => c.problems.push(problem),
            }
            c.unverified
                .push("what the command does when it runs".into());
            Ok(c)
        }
        Dispatch::Deployment { spec } => Ok(DispatchCheck {
            problems: Vec::new(),
            checked: vec![format!(
                "the {} forge lists the deployments of {}",
                fx.forge.name(),
                spec.environment
            )],
            unverified: vec!["the token may create a deployment (that needs a write)".into()],
        }),
        other => {
            let Some(spec) = other.spec() else {
                return Ok(DispatchCheck::default());
            };
            match fx.forge.validate_dispatch(spec) {
                Ok(c) => Ok(c),
                // Cannot tell is not a pass: the drill fails and says why.
                Err(e @ Error::Unsupported { .. }) => Ok(DispatchCheck {
                    problems: vec![format!("{e}")],
                    checked: Vec::new(),
                    unverified: Vec::new(),
                }),
                Err(e) => Err(e),
            }
        }
    }
}

/// Records a drill of `d`'s environment: passed or failed, with what the report holds.
pub fn record(d: &Decision, fx: &Effects, passed: bool, report: &mut Report) -> Result<(), Error> {
    let now = now_second();
    let drill = Drill {
        environment: d.environment.clone(),
        result: if passed {
            DrillResult::Success
        } else {
            DrillResult::Failure
        },
        when: now,
        actor: d.actor.clone(),
        reason: d.why.reason.clone(),
        run: d.run_url.clone(),
    };
    let mut audit = drill.to_audit();
    if let Some(details) = audit.details.as_object_mut() {
        details.insert("mode".into(), serde_json::json!(format!("{:?}", d.mode)));
        details.insert("summary".into(), serde_json::json!(report.summary));
        details.insert("target".into(), serde_json::json!(report.to));
        details.insert("check".into(), serde_json::json!(report.check));
        details.insert("outcome".into(), serde_json::json!(report.outcome));
    }
    fx.forge.append_audit(&audit)?;
    // A drill that executed keeps the rollback's own outcome; a validation says pass or fail.
    if report.outcome.is_empty() || (report.outcome == "no-target" && !passed) {
        report.outcome = if passed {
            "drill-passed"
        } else {
            "drill-failed"
        }
        .into();
    }
    Ok(())
}
