//! The `window` gate.

use relman_core::Error;
use relman_core::config;

use crate::{Context, Finding};

/// Evaluates the gate (placeholder until implemented: refuses, never passes).
pub fn evaluate(spec: &config::WindowGate, cx: &Context) -> Result<Finding, Error> {
    let _ = (spec, cx);
    Err(Error::Usage(
        "the window gate is not implemented yet".into(),
    ))
}
