//! `relman rollback`: back to the last known-good deployment, dispatched exactly once, watched
//! to the end, practised in drills.
//!
//! A run [`decide`]s, reading only: the environment's deployments (the target: the last
//! known-good one before the current, or the one `--to` names), the incident's earlier claim,
//! and the exact dispatch configured in `rollback.environments` rendered for the target.
//! [`apply`] then acts: claims the idempotency key on the state branch before anything is
//! sent (a retried or second trigger reports the first), dispatches, marks the deployment it
//! leaves failed, follows the run to its end, [`verify`]s the service with the gate's monitoring
//! probes (`relman_probe`) when configured, and records each step in the audit trail. A
//! drill validates the dispatch instead (or executes it where allowed) and records a
//! [`relman_core::state::Drill`] for the gate.

pub mod apply;
pub mod capable;
pub mod claim;
pub mod cli;
pub mod command;
pub mod decide;
pub mod drill;
pub mod follow;
pub mod outputs;
pub mod plan;
pub mod reason;
pub mod report;
pub mod target;
#[cfg(test)]
mod testing;
pub mod verify;

pub use apply::{Applied, Effects, apply};
pub use cli::{Args, Format, run, run_with};
pub use decide::{Decision, Facts, Mode, Question, Resolution, decide};
