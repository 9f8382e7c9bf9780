//! `relman changelog`: release notes and the next version from conventional commits.
//!
//! The flow: [`collect`] walks the history for the asked scope and assigns commits to
//! releases; [`classify`] puts each parsed entry into a group; [`release`] builds the template
//! context; [`render`] applies the template; [`file`] merges sections into CHANGELOG.md.
//!
//! [`decide`] runs that flow and only reads (facts → rendered releases and the next version);
//! [`apply`] does every effect (stdout, the release on the forge, outputs, the job summary,
//! CHANGELOG.md), so a caller can have the notes without them.

pub mod apply;
pub mod classify;
pub mod cli;
pub mod collect;
pub mod context;
pub mod decide;
pub mod enrich;
pub mod file;
pub mod links;
pub mod outputs;
pub mod publish;
pub mod release;
pub mod render;

pub use cli::{Args, run, run_with};
