//! Claiming a dispatch's idempotency key on the state branch before the dispatch is sent.
//!
//! A forge endpoint that takes no idempotency key (GitHub's dispatches answer `204` and
//! nothing else) cannot refuse a second dispatch: two jobs that both look for an earlier run,
//! find none and POST, run the workflow twice. So the key is claimed first, by one
//! compare-and-swap on the state branch ([`StateStore::transact`]): of two jobs claiming one
//! key at once, the first to publish dispatches; the other finds the claim and reports the
//! first's dispatch instead of sending its own.
//!
//! The claim is one file, `claims/<forge>/<repository>/dispatch/<key>.json`, holding what the
//! key was claimed for, by whom and when, a random token naming the claiming attempt, and —
//! once the forge accepted the dispatch — its record. Its holder removes it only when the forge
//! refused the dispatch outright (nothing ran, so a corrected retry may dispatch); a claim
//! whose holder died before recording stays, and the next attempt says so (it cannot tell a
//! dispatch that was sent from one that was not, unless the forge lists the run).
//!
//! The claim is a [`RecordKind::Dispatch`] record: when that kind is not in `state.durable`
//! (the default) and the claim cannot be pushed, the dispatch goes ahead unshared, as before
//! claims existed, with a warning; add `dispatch` to `state.durable` to refuse instead.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DispatchRecord, DispatchSpec};
use relman_core::config::RecordKind;
use relman_core::error::{Error, Result};
use relman_core::state::{Change, Jitter, StateStore, Step, file_name};

/// What a claim file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimFile {
    pub workflow: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    pub requested_by: String,
    /// RFC 3339 UTC.
    pub claimed_at: String,
    /// A random token naming the attempt that holds the claim.
    pub holder: String,
    /// The dispatch the holder made, once the forge accepted it.
    #[serde(default)]
    pub dispatched: Option<DispatchRecord>,
}

/// What claiming a key found.
#[derive(Debug)]
pub(crate) enum Claimed {
    /// This attempt holds the key: dispatch, then [`Claim::record`] (or [`Claim::release`]).
    Ours(Claim),
    /// The key's dispatch was made (by another job, or an earlier attempt): its record.
    Recorded(DispatchRecord),
    /// Another attempt claimed the key and has recorded no dispatch yet: it is dispatching
    /// now, or it died before it could record.
    InFlight(ClaimFile),
    /// No claim could be shared (no store attached, or the claim could not be pushed and
    /// dispatch records need not be durable): the caller goes ahead without one.
    Unshared,
}

/// A claim this attempt holds.
#[derive(Debug)]
pub(crate) struct Claim {
    path: String,
    holder: String,
}

/// Where the claim of `key` lives: `claims/<forge>/<scope>/dispatch/<key>.json`. Under
/// `claims/`, not `keys/`: a claim gains its record after the dispatch and is removed when the
/// forge refused it, and `relman audit verify` holds everything under `keys/` to never change.
pub(crate) fn path(forge: &str, scope: &str, key: &str) -> String {
    format!(
        "claims/{forge}/{}/dispatch/{}.json",
        file_name(scope),
        file_name(key)
    )
}

/// Claims `spec.idempotency_key` at `path`. A claim made for another workflow, ref or inputs
/// is an [`Error::Conflict`] (the caller's keys are wrong).
pub(crate) fn claim(
    store: Option<&StateStore>,
    backend: &str,
    path: &str,
    spec: &DispatchSpec,
) -> Result<Claimed> {
    let Some(store) = store else {
        return Ok(Claimed::Unshared);
    };
    let holder = format!("{:016x}", Jitter::new().next_u64());
    let mine = ClaimFile {
        workflow: spec.workflow.clone(),
        git_ref: spec.git_ref.clone(),
        inputs: spec.inputs.clone(),
        requested_by: spec.requested_by.clone(),
        claimed_at: crate::now_rfc3339(),
        holder: holder.clone(),
        dispatched: None,
    };
    let outcome = store.transact(|snapshot| {
        if let Some(existing) = snapshot.read_json::<ClaimFile>(path)? {
            if existing.workflow != spec.workflow
                || existing.git_ref != spec.git_ref
                || existing.inputs != spec.inputs
            {
                return Err(Error::Conflict {
                    backend: backend.into(),
                    message: format!(
                        "idempotency key `{}` was claimed for `{}` on {} with other inputs \
                         ({path} on the state branch)",
                        spec.idempotency_key, existing.workflow, existing.git_ref
                    ),
                });
            }
            return Ok(Step::Done(match existing.dispatched.clone() {
                Some(record) => Claimed::Recorded(record),
                None => Claimed::InFlight(existing),
            }));
        }
        let change = Change::new(
            RecordKind::Dispatch,
            format!("{backend} dispatch claim {}", spec.idempotency_key),
        )
        .json(path.to_string(), &mine)?;
        Ok(Step::Write(
            change,
            Claimed::Ours(Claim {
                path: path.to_string(),
                holder: holder.clone(),
            }),
        ))
    });
    match outcome {
        Err(Error::NotRecorded { why, .. }) => {
            tracing::warn!(
                "{backend}: the dispatch key could not be claimed on the state branch ({why}); \
                 dispatching unshared: two simultaneous triggers may both dispatch"
            );
            Ok(Claimed::Unshared)
        }
        other => other,
    }
}

impl Claim {
    /// Records the dispatch the forge accepted in the claim. The dispatch happened whatever
    /// this returns; a record that cannot be pushed is a warning (`state.durable` decides for
    /// the audit record the caller writes next).
    pub(crate) fn record(&self, store: &StateStore, record: &DispatchRecord) -> Result<()> {
        let written = store.transact(|snapshot| {
            let Some(mut file) = snapshot.read_json::<ClaimFile>(&self.path)? else {
                return Ok(Step::Done(false));
            };
            if file.holder != self.holder || file.dispatched.is_some() {
                return Ok(Step::Done(false));
            }
            file.dispatched = Some(record.clone());
            let change = Change::new(
                RecordKind::Dispatch,
                format!("dispatch {} recorded", record.idempotency_key),
            )
            .json(self.path.clone(), &file)?;
            Ok(Step::Write(change, true))
        });
        match written {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!("{}: the claim changed hands before its record", self.path);
                Ok(())
            }
            Err(Error::NotRecorded { why, .. }) => {
                tracing::warn!(
                    "{}: the dispatch was not recorded in its claim: {why}",
                    self.path
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the key back after the forge refused the dispatch (nothing ran): a corrected
    /// retry may then dispatch. Best effort: a claim left behind is reported by the next
    /// attempt, never taken for a dispatch.
    pub(crate) fn release(&self, store: &StateStore) {
        let removed = store.transact(|snapshot| {
            let held = snapshot
                .read_json::<ClaimFile>(&self.path)?
                .is_some_and(|f| f.holder == self.holder && f.dispatched.is_none());
            if !held {
                return Ok(Step::Done(()));
            }
            let mut change = Change::new(RecordKind::Dispatch, "dispatch claim released");
            change.removes.push(self.path.clone());
            Ok(Step::Write(change, ()))
        });
        if let Err(e) = removed {
            tracing::warn!("{}: the refused dispatch's claim stays: {e}", self.path);
        }
    }
}

/// The error for a key another attempt claimed without recording a dispatch, which the forge
/// cannot show either (`looked`: what was searched, e.g. "no run of `deploy.yml` carries the
/// key").
pub(crate) fn unfinished(
    backend: &str,
    path: &str,
    spec: &DispatchSpec,
    file: &ClaimFile,
    looked: &str,
) -> Error {
    Error::InDoubt {
        backend: backend.into(),
        message: format!(
            "idempotency key `{}` was claimed by {} at {} ({path} on the state branch) but no \
             dispatch was recorded and {looked}: that job may still be dispatching, or it \
             stopped before it did. Try again in a minute; if nothing was started, remove that \
             file from the state branch or use another key",
            spec.idempotency_key, file.requested_by, file.claimed_at
        ),
    }
}

/// Whether a failed dispatch certainly started nothing (its claim may then be given back):
/// the forge refused the request (a 4xx, a rate limit), or it was never sent. Anything else
/// (an untyped failure included) keeps the claim: fail closed, never a second dispatch.
pub(crate) fn nothing_ran(e: &Error) -> bool {
    use relman_core::error::ForgeErrorKind;
    match e {
        Error::Api(api) => match api.kind {
            ForgeErrorKind::Status { status } => (400..500).contains(&status),
            ForgeErrorKind::RateLimited { .. }
            | ForgeErrorKind::BudgetSpent { .. }
            | ForgeErrorKind::Request
            | ForgeErrorKind::Setup => true,
            ForgeErrorKind::Transport
            | ForgeErrorKind::Malformed
            | ForgeErrorKind::PageCap { .. }
            | ForgeErrorKind::ForeignLink
            | ForgeErrorKind::GraphQl { .. }
            | ForgeErrorKind::NotReady => false,
        },
        Error::Usage(_) | Error::NotFound { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use relman_core::error::{Error, ForgeError, ForgeErrorKind};

    use super::nothing_ran;

    fn api(kind: ForgeErrorKind) -> Error {
        ForgeError::new("github", "POST /x", kind, "POST /x: no").into()
    }

    #[test]
    fn only_a_refused_or_unsent_dispatch_gives_its_claim_back() {
        // Never sent: a client that could not be set up.
        assert!(nothing_ran(&api(ForgeErrorKind::Setup)));
        // Refused: GitHub's 422 for a workflow without the key's input.
        assert!(nothing_ran(&api(ForgeErrorKind::Status { status: 422 })));
        // Unknown outcome: the claim is kept.
        assert!(!nothing_ran(&api(ForgeErrorKind::Transport)));
        assert!(!nothing_ran(&api(ForgeErrorKind::Status { status: 502 })));
        assert!(!nothing_ran(&api(ForgeErrorKind::NotReady)));
        // An untyped external failure says nothing about the dispatch.
        assert!(!nothing_ran(&Error::Git("push refused".into())));
    }
}
