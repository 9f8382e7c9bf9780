//! The `relman` binary's command line as a library, so that tests read the same clap
//! definitions users run (tests/surfaces.rs checks the actions and components against them).

pub mod audit;
pub mod cli;
pub mod variables;
