//! Forge gates: required checks, approvals, release blockers.

pub mod approvals;
pub mod blockers;
pub mod checks;
