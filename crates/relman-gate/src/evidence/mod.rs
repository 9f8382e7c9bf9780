//! Evidence gates: reports produced by the build, found by glob and parsed streaming.

pub mod benchmark;
pub mod coverage;
pub mod files;
pub mod junit;
mod report_text;
pub mod sarif;
