//! The step outputs of `relman rollback`, declared once: the code sets them by these names, the
//! actions expose them and docs/reference/env.md lists them (both checked by tests/surfaces.rs).

use relman_core::vars::Output;

pub const OUTCOME: Output = Output {
    name: "outcome",
    multiline: false,
    meaning: "`succeeded`, `verified` / `verification-failed` (the run succeeded; the \
              environment's `verify:` probes passed / did not), `failed`, `cancelled`, \
              `timed-out`, `dispatched` (not followed), `unknown` (a first attempt's dispatch not recorded), `no-target`, `dry-run`, \
              `drill-passed`, `drill-failed`, or `error` when the run did nothing (bad input or an \
              external failure).",
};
pub const TARGET_SHA: Output = Output {
    name: "target-sha",
    multiline: false,
    meaning: "Commit rolled back to (the target deployment's sha).",
};
pub const TARGET_DEPLOYMENT: Output = Output {
    name: "target-deployment",
    multiline: false,
    meaning: "Id of the deployment rolled back to.",
};
pub const DISPATCH_ID: Output = Output {
    name: "dispatch-id",
    multiline: false,
    meaning: "Id of what was dispatched: workflow run or pipeline (0 while the forge has not \
              said), job, or deployment.",
};
pub const DISPATCH_URL: Output = Output {
    name: "dispatch-url",
    multiline: false,
    meaning: "Web page of the dispatched run, pipeline or job, when the forge gives one.",
};

/// Every output, in the order the actions list them.
pub const ALL: &[Output] = &[
    OUTCOME,
    TARGET_SHA,
    TARGET_DEPLOYMENT,
    DISPATCH_ID,
    DISPATCH_URL,
];
