//! Shared core of relman.
//!
//! Every concern (changelog, and later gate, promote, rollback) starts from the same three things:
//! one `.relman.yml`, the repository's history, and a way to report what it decided. They live
//! here so that each concern crate holds only its own logic.

pub mod audit;
pub mod ci;
pub mod cli;
pub mod config;
pub mod conventional;
pub mod error;
mod forge_error;
pub mod fsutil;
pub mod git;
pub mod state;
pub mod template;
pub mod unexpanded;
pub mod vars;
pub mod version;

pub use error::{Error, ExitCode, Result, StateErrorKind};
