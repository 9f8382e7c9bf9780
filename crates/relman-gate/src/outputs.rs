//! The step outputs of `relman gate`, declared once: the code sets them by these names, the
//! actions expose them and docs/reference/env.md lists them (both checked by tests/surfaces.rs).

use relman_core::vars::Output;

pub const VERDICT: Output = Output {
    name: "verdict",
    multiline: false,
    meaning: "`go`, `no-go`, `rehearsal-go`, or `error` when the run decided nothing (bad input or an external failure).",
};
pub const RISK: Output = Output {
    name: "risk",
    multiline: false,
    meaning: "Change risk level: `low`, `medium`, `high` or `critical`.",
};
pub const REPORT: Output = Output {
    name: "report",
    multiline: false,
    meaning: "Path of the JSON report (schema/gate-report.schema.json).",
};

/// Every output, in the order the actions list them.
pub const ALL: &[Output] = &[VERDICT, RISK, REPORT];
