//! Forge gates: required checks, approvals, release blockers.

pub mod approvals;
pub mod blockers;
pub mod capable;
pub mod checks;
pub mod codeowners;

#[cfg(test)]
mod tests;
