//! What evaluating one gate produces: a status, a one-line reason, the evidence behind it,
//! the facts conditions can read, how they were obtained, and where to annotate.

use serde::Serialize;

/// How one gate came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not evaluated: its `when` condition was false.
    Skipped,
}

/// Severity of an annotation; mirrors `relman_core::ci::Level` but serializable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
}

/// A finding tied to a file (a failed test, a SARIF location), shown on the runner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotation {
    pub level: AnnotationLevel,
    /// Path relative to the repository root, as the runner shows it.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub title: String,
    pub message: String,
}

/// The outcome of one gate's evaluation, before severity is applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub status: Status,
    /// One line: why it passed or failed (`2 failed tests (max 0)`).
    pub reason: String,
    /// The evidence behind the reason, one item per line (a failed test, a finding, a check).
    pub evidence: Vec<String>,
    /// Facts conditions and `when` read under the gate's name (`junit.failures`).
    pub facts: serde_json::Value,
    /// How the facts were obtained (`read 3 files matching reports/*.xml`), for `--explain`.
    pub explain: Vec<String>,
    pub annotations: Vec<Annotation>,
}

impl Finding {
    /// A finding with `status` and `reason`, everything else empty.
    pub fn new(status: Status, reason: impl Into<String>) -> Self {
        Finding {
            status,
            reason: reason.into(),
            evidence: Vec::new(),
            facts: serde_json::Value::Object(Default::default()),
            explain: Vec::new(),
            annotations: Vec::new(),
        }
    }

    /// `Pass` when `ok`, else `Fail`.
    pub fn check(ok: bool, reason: impl Into<String>) -> Self {
        Finding::new(if ok { Status::Pass } else { Status::Fail }, reason)
    }
}

/// Evidence files are capped: a report larger than this is refused, not read (a runaway or
/// hostile artifact must not exhaust the runner).
pub const MAX_EVIDENCE_BYTES: u64 = 1 << 30;

/// At most this many annotations per gate: runners drop the rest anyway (GitHub shows 10 per
/// step and type), and thousands of lines would bury the summary.
pub const MAX_ANNOTATIONS: usize = 50;
