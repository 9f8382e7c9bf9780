//! What each gate needs the forge to answer, asked before the gate runs
//! ([`relman_forge::Forge::capabilities`]).
//!
//! A gate whose forge lacks a capability fails, saying which and on which forge: "cannot
//! tell" is never a pass, and never a silent skip. (A `--dry-run`, a rehearsal that is never a
//! go, reports it as not evaluated.) The `window` gate is not listed: its own periods still
//! apply without the forge's freezes, and it fails on the missing freezes itself.

use relman_core::config::GateSpec;
use relman_forge::Capability;

/// The capabilities `spec` reads, in the order it reads them.
pub fn needs(spec: &GateSpec) -> Vec<Capability> {
    let mut out = Vec::new();
    if spec.checks.is_some() {
        out.push(Capability::Checks);
    }
    if let Some(a) = &spec.approvals {
        out.extend([Capability::PullRequests, Capability::Approvals]);
        if !a.teams.is_empty() {
            out.push(Capability::TeamMembers);
        }
    }
    if spec.blockers.is_some() {
        out.push(Capability::Issues);
    }
    if let Some(r) = &spec.rollback {
        out.push(Capability::Deployments);
        if r.drill_within_days.is_some() {
            out.push(Capability::Audit);
        }
    }
    out
}
