//! `relman gate`: an explained go/no-go release decision.
//!
//! A run resolves a policy (`gate.policies` in `.relman.yml`), then [`decide`]s: builds a
//! [`Context`] (the change since the last release, the forge, the clock), evaluates each gate
//! in order into a [`Finding`] and applies severities into a verdict, reading only. [`apply`]
//! then acts: the audit log first, then every way a release manager reads it (text, job
//! summary, annotations, JSON, outputs, the commit status).

pub mod apply;
pub mod check;
pub mod cli;
pub mod condition;
pub mod context;
pub mod decide;
pub mod diff;
pub mod evaluate;
pub mod evidence;
pub mod finding;
pub mod forge;
pub mod inputs;
pub mod outputs;
pub mod policy;
pub mod readiness;
pub mod report;
pub mod risk;
pub mod window;

pub use apply::{Effects, apply};
pub use cli::{Args, run, run_with};
pub use context::{Change, ChangedFile, Context};
pub use decide::{Decision, Facts, Question, decide};
pub use finding::{Annotation, AnnotationLevel, Finding, Status};
