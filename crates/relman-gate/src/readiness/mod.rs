//! Readiness gates: can we roll back, is monitoring in place.

pub mod monitoring;
pub mod rollback;
