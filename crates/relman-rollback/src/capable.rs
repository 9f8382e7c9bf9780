//! What the forge must be able to do for this rollback, asked before anything is claimed or
//! sent ([`relman_forge::Forge::capabilities`]).
//!
//! A rollback the forge cannot carry to its end is refused up front (exit 2, naming the
//! capability and the forge), never started: on the local store a `workflow:` dispatch is
//! only recorded and nothing runs it; a run nobody can follow ends "unknown" after the claim
//! and the dispatch are already out; a drill on a forge that cannot validate proves nothing.

use relman_core::Error;
use relman_forge::{Capability, Forge, JOB_PREFIX, lacks};

use crate::decide::{Decision, Mode, Resolved};
use crate::plan::Dispatch;

/// The capabilities `dispatch` needs in `mode`, `follow`ing the run or not.
pub fn needs(dispatch: &Dispatch, mode: Mode, follow: bool) -> Vec<Capability> {
    let sends = match dispatch {
        // Run by relman itself, and waited for.
        Dispatch::Command { .. } => return Vec::new(),
        // Sent, validated and followed through the environment's deployments; something must
        // deploy it when it is created.
        Dispatch::Deployment { .. } => {
            return vec![Capability::Deployments, Capability::DeploymentEvents];
        }
        Dispatch::Workflow { .. } => Capability::DispatchRuns,
        Dispatch::RepositoryDispatch { .. } => Capability::RepositoryDispatch,
        Dispatch::Job { spec, .. } if spec.workflow.starts_with(JOB_PREFIX) => {
            Capability::JobReplay
        }
        Dispatch::Job { .. } => Capability::DispatchRuns,
    };
    match mode {
        Mode::DrillValidate => vec![sends, Capability::ValidateDispatch],
        _ if follow => vec![sends, Capability::FollowRuns],
        _ => vec![sends],
    }
}

/// Refuses a rollback `forge` cannot carry out: a usage error naming each capability missing,
/// the forge and what to do instead.
pub fn require(d: &Decision, r: &Resolved, forge: &dyn Forge, follow: bool) -> Result<(), Error> {
    let missing = forge
        .capabilities()
        .missing(&needs(&r.dispatch, d.mode, follow));
    if missing.is_empty() {
        return Ok(());
    }
    let why: Vec<String> = missing
        .iter()
        .map(|&c| format!("{}{}", lacks(forge.name(), c), hint(c)))
        .collect();
    Err(Error::Usage(format!(
        "rollback.environments.{}.dispatch: refused before anything was claimed or sent: {}",
        d.environment,
        why.join("; ")
    )))
}

fn hint(missing: Capability) -> &'static str {
    match missing {
        Capability::DispatchRuns | Capability::RepositoryDispatch | Capability::JobReplay => {
            " (configure the forge this dispatch belongs to, or use `command:` to run the \
             rollback from this job)"
        }
        Capability::FollowRuns => {
            " (--no-follow / RELMAN_ROLLBACK_NO_FOLLOW dispatches without waiting for the run)"
        }
        Capability::DeploymentEvents => {
            " (on GitLab, `job:` replays the target's deploy job and `workflow:` runs a \
             pipeline; `command:` runs the rollback from this job)"
        }
        Capability::ValidateDispatch => {
            " (`drill: execute` proves the rollback by running it instead)"
        }
        _ => "",
    }
}
