//! The verdict in every form a release manager reads it: one line, a text report, a markdown
//! job summary (a table), and the JSON report whose schema is committed
//! (`schema/gate-report.schema.json`; a test keeps it current).
//!
//! Gate reasons and evidence can carry repository text (test names, PR titles, findings):
//! markdown cells are escaped so they cannot break the table or inject HTML, and the text
//! report is printed through the runtime's untrusted writer by the caller.

use schemars::JsonSchema;
use serde::Serialize;

use relman_core::config::{GateSpec, Severity};

use crate::{Finding, Status};

/// Version of the report format; bumped on incompatible changes.
pub const REPORT_VERSION: u32 = 1;

/// At most this many evidence lines per gate in the text report and summary (all are in JSON).
const SHOWN_EVIDENCE: usize = 10;

/// `go`, `no-go`, or `rehearsal-go`: every gate passed, but the run was a rehearsal (a clock
/// or base it was given, see `rehearsal`), which is never a release decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Verdict {
    #[serde(rename = "go")]
    Go,
    #[serde(rename = "no-go")]
    NoGo,
    #[serde(rename = "rehearsal-go")]
    RehearsalGo,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Go => "go",
            Verdict::NoGo => "no-go",
            Verdict::RehearsalGo => "rehearsal-go",
        }
    }
}

/// One gate in the report.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GateReport {
    pub name: String,
    /// `junit`, `sarif`, `checks`, …
    pub kind: String,
    /// `blocking` or `warning`.
    pub severity: String,
    /// `pass`, `fail` or `skipped`.
    pub status: String,
    /// Failed and blocking: this gate alone makes the verdict no-go.
    pub blocking: bool,
    pub reason: String,
    pub evidence: Vec<String>,
    /// What conditions read under this gate's name.
    pub facts: serde_json::Value,
    /// How the facts were obtained.
    pub explain: Vec<String>,
    /// The `when:` guard, if any.
    pub when: Option<String>,
    pub duration_ms: u64,
}

impl GateReport {
    pub fn new(name: &str, kind: &str, spec: &GateSpec, f: Finding, duration_ms: u64) -> Self {
        let status = match f.status {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        };
        GateReport {
            name: name.to_string(),
            kind: kind.to_string(),
            severity: match spec.severity {
                Severity::Blocking => "blocking",
                Severity::Warning => "warning",
            }
            .into(),
            status: status.into(),
            blocking: f.status == Status::Fail && spec.severity == Severity::Blocking,
            reason: f.reason,
            evidence: f.evidence,
            facts: f.facts,
            explain: f.explain,
            when: spec.when.clone(),
            duration_ms,
        }
    }
}

/// The change the verdict is about.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChangeSummary {
    pub base: Option<String>,
    pub base_sha: Option<String>,
    pub head: String,
    pub head_sha: String,
    pub commits: usize,
    pub files: usize,
    pub lines_added: u64,
    pub lines_removed: u64,
}

/// The gate's JSON report (`--report FILE`, the `report` output).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Report {
    pub version: u32,
    pub verdict: Verdict,
    /// One line: `no-go: 2 blocking gates failed (junit, approvals)`.
    pub summary: String,
    pub policy: String,
    /// The policy and those it extends, child first.
    pub policies: Vec<String>,
    pub environment: String,
    /// RFC 3339 UTC.
    pub evaluated_at: String,
    /// Who ran it (CI actor or user).
    pub actor: String,
    /// The CI run, when known.
    pub run_url: Option<String>,
    /// Forge or store the facts came from (`github`, `gitlab`, `local`).
    pub forge: String,
    pub change: ChangeSummary,
    /// The risk assessment: `level`, `score`, `reasons`, …
    pub risk: serde_json::Value,
    /// Emergency override reason, when one was given.
    pub override_reason: Option<String>,
    /// Why this run is a rehearsal (a clock or a base it was given), `null` for a real
    /// decision. A rehearsal never answers `go`, exits 1 and sets no commit status.
    pub rehearsal: Option<String>,
    /// Why the change is measured from the last release tag although the environment's
    /// deployment was asked for (the forge could not list deployments, or the deployed commit
    /// is not in this clone); `null` when the base is the one asked for.
    pub base_fallback: Option<String>,
    pub gates: Vec<GateReport>,
    /// Why this verdict is not in the audit trail (a token that cannot push the state
    /// branch, e.g. on a fork's pull request); absent when it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_recorded: Option<String>,
}

impl Report {
    /// The one-line summary for a verdict over `gates`.
    pub fn summarize(
        gates: &[GateReport],
        rehearsal: &crate::inputs::Rehearsal,
    ) -> (Verdict, String) {
        let blocking: Vec<&str> = gates
            .iter()
            .filter(|g| g.blocking)
            .map(|g| g.name.as_str())
            .collect();
        let warned: Vec<&str> = gates
            .iter()
            .filter(|g| g.status == "fail" && !g.blocking)
            .map(|g| g.name.as_str())
            .collect();
        let passed = gates.iter().filter(|g| g.status == "pass").count();
        if blocking.is_empty() {
            let mut s = format!("go: {passed} of {} gates passed", gates.len());
            if !warned.is_empty() {
                s.push_str(&format!(", warnings: {}", warned.join(", ")));
            }
            if rehearsal.is_rehearsal() {
                s = format!("rehearsal-{s} (a rehearsal is not a release decision)");
                return (Verdict::RehearsalGo, s);
            }
            (Verdict::Go, s)
        } else {
            let n = blocking.len();
            (
                Verdict::NoGo,
                format!(
                    "no-go: {n} blocking gate{} failed ({})",
                    if n == 1 { "" } else { "s" },
                    blocking.join(", ")
                ),
            )
        }
    }

    fn risk_str(&self) -> String {
        let level = self
            .risk
            .get("level")
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        match self.risk.get("score").and_then(|v| v.as_f64()) {
            // The same rounding as the risk gate's own reason: one score everywhere.
            Some(s) => format!("{level} ({})", crate::risk::score_text(s)),
            None => level.to_string(),
        }
    }

    fn range(&self) -> String {
        let head = short(&self.change.head_sha);
        match &self.change.base {
            // A base given as a full commit id (a deployment) reads like the head: short.
            Some(b) if b.len() == 40 && b.bytes().all(|c| c.is_ascii_hexdigit()) => {
                format!("{}..{head}", short(b))
            }
            Some(b) => format!("{b}..{head}"),
            None => format!("{head} (first release)"),
        }
    }

    /// The human report: verdict, one line per gate, evidence of failures, explanations.
    pub fn text(&self, explain: bool) -> String {
        let mut out = format!(
            "relman gate: {} — policy {}, {} ({} commit{}, {} files, +{} -{}), risk {}\n",
            self.verdict.as_str().to_uppercase(),
            self.policy,
            self.range(),
            self.change.commits,
            if self.change.commits == 1 { "" } else { "s" },
            self.change.files,
            self.change.lines_added,
            self.change.lines_removed,
            self.risk_str()
        );
        if let Some(r) = &self.rehearsal {
            out.push_str(&format!("  rehearsal: {r}\n"));
        }
        if let Some(b) = &self.base_fallback {
            out.push_str(&format!("  base: {b}\n"));
        }
        if let Some(r) = &self.override_reason {
            out.push_str(&format!("  override: {r}\n"));
        }
        if let Some(why) = &self.not_recorded {
            out.push_str(&format!(
                "  not recorded in the audit trail: {}\n",
                one_line(why)
            ));
        }
        let width = self
            .gates
            .iter()
            .map(|g| g.name.chars().count())
            .max()
            .unwrap_or(4);
        for g in &self.gates {
            let mark = match (g.status.as_str(), g.blocking) {
                ("pass", _) => "✓",
                ("skipped", _) => "-",
                (_, true) => "✗",
                _ => "!",
            };
            let tag = if g.status == "fail" {
                format!("  [{}]", g.severity)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {mark} {:width$}  {}{tag}\n",
                g.name,
                one_line(&g.reason)
            ));
            let show_evidence = g.status == "fail" || explain;
            if show_evidence {
                for e in g.evidence.iter().take(SHOWN_EVIDENCE) {
                    out.push_str(&format!("      {}\n", one_line(e)));
                }
                if g.evidence.len() > SHOWN_EVIDENCE {
                    out.push_str(&format!(
                        "      … and {} more\n",
                        g.evidence.len() - SHOWN_EVIDENCE
                    ));
                }
            }
            if explain {
                for e in &g.explain {
                    out.push_str(&format!("      how: {}\n", one_line(e)));
                }
            }
        }
        // A risk gate already lists the reasons as its evidence.
        let risk_gate = self.gates.iter().any(|g| g.kind == "risk");
        if explain
            && !risk_gate
            && let Some(reasons) = self.risk.get("reasons").and_then(|r| r.as_array())
        {
            out.push_str("  risk:\n");
            for r in reasons {
                out.push_str(&format!("      {}\n", one_line(&reason_text(r))));
            }
        }
        out.push_str(&format!("{}\n", self.summary));
        out
    }

    /// The markdown job summary.
    pub fn markdown(&self) -> String {
        let icon = match self.verdict {
            Verdict::Go => "✅",
            Verdict::NoGo => "❌",
            Verdict::RehearsalGo => "🧪",
        };
        let mut md = format!(
            "## {icon} relman gate: {}\n\n**Policy** `{}` · **Environment** `{}` · **Change** {} ({} commit{}, {} files, +{} −{}) · **Risk** {}\n\n",
            self.verdict.as_str(),
            cell(&self.policy),
            cell(&self.environment),
            cell(&self.range()),
            self.change.commits,
            if self.change.commits == 1 { "" } else { "s" },
            self.change.files,
            self.change.lines_added,
            self.change.lines_removed,
            self.risk_str()
        );
        if let Some(r) = &self.rehearsal {
            md.push_str(&format!(
                "> **Rehearsal** (not a release decision): {}\n\n",
                cell(r)
            ));
        }
        if let Some(b) = &self.base_fallback {
            md.push_str(&format!("> **Base:** {}\n\n", cell(b)));
        }
        if let Some(r) = &self.override_reason {
            md.push_str(&format!("> **Override:** {}\n\n", cell(r)));
        }
        if let Some(why) = &self.not_recorded {
            md.push_str(&format!(
                "> **Not recorded in the audit trail:** {}\n\n",
                cell(why)
            ));
        }
        md.push_str("| | Gate | Severity | Result |\n|---|---|---|---|\n");
        for g in &self.gates {
            let mark = match (g.status.as_str(), g.blocking) {
                ("pass", _) => "✅",
                ("skipped", _) => "⏭️",
                (_, true) => "❌",
                _ => "⚠️",
            };
            md.push_str(&format!(
                "| {mark} | {} | {} | {} |\n",
                cell(&g.name),
                g.severity,
                cell(&g.reason)
            ));
        }
        let failed: Vec<&GateReport> = self.gates.iter().filter(|g| g.status == "fail").collect();
        for g in failed {
            if g.evidence.is_empty() {
                continue;
            }
            md.push_str(&format!(
                "\n<details><summary>{}: evidence</summary>\n\n",
                cell(&g.name)
            ));
            for e in g.evidence.iter().take(SHOWN_EVIDENCE) {
                md.push_str(&format!("- {}\n", cell(e)));
            }
            if g.evidence.len() > SHOWN_EVIDENCE {
                md.push_str(&format!(
                    "- … and {} more (see the JSON report)\n",
                    g.evidence.len() - SHOWN_EVIDENCE
                ));
            }
            md.push_str("\n</details>\n");
        }
        md.push_str(&format!("\n{}\n", cell(&self.summary)));
        md
    }
}

fn reason_text(r: &serde_json::Value) -> String {
    match r {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => {
            let why = m.get("why").and_then(|v| v.as_str()).unwrap_or("");
            match m.get("points").and_then(|v| v.as_f64()) {
                Some(p) => format!("+{} {why}", (p * 10.0).round() / 10.0),
                None => why.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// One line, control characters removed.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Text safe inside a markdown table cell: one line, no pipes, no HTML, no backticks that
/// would swallow the rest of the row (the one escaper for repository text in summaries).
pub fn cell(s: &str) -> String {
    relman_core::ci::escape::markdown_inline(s)
}

/// The JSON Schema of [`Report`], as committed in `schema/gate-report.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Report);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(name: &str, status: &str, blocking: bool, reason: &str) -> GateReport {
        GateReport {
            name: name.into(),
            kind: name.into(),
            severity: if blocking || status != "fail" {
                "blocking"
            } else {
                "warning"
            }
            .into(),
            status: status.into(),
            blocking,
            reason: reason.into(),
            evidence: vec!["a | b <script>".into()],
            facts: serde_json::json!({}),
            explain: vec!["read x".into()],
            when: None,
            duration_ms: 1,
        }
    }

    fn report(gates: Vec<GateReport>) -> Report {
        let (verdict, summary) = Report::summarize(&gates, &Default::default());
        Report {
            version: REPORT_VERSION,
            verdict,
            summary,
            policy: "production".into(),
            policies: vec!["production".into()],
            environment: "production".into(),
            evaluated_at: "2026-11-26T10:00:00Z".into(),
            actor: "octocat".into(),
            run_url: None,
            forge: "local".into(),
            change: ChangeSummary {
                base: Some("v1.0.0".into()),
                base_sha: None,
                head: "HEAD".into(),
                head_sha: "abcdef0123456789".into(),
                commits: 3,
                files: 2,
                lines_added: 10,
                lines_removed: 1,
            },
            risk: serde_json::json!({"level": "medium", "score": 21.5, "reasons": [{"points": 20, "why": "database migration"}]}),
            override_reason: None,
            rehearsal: None,
            base_fallback: None,
            not_recorded: None,
            gates,
        }
    }

    #[test]
    fn summary_lines() {
        let r = report(vec![
            gate("junit", "pass", false, "12 tests passed"),
            gate("approvals", "fail", true, "1 approval(s), 2 required"),
            gate("sarif", "fail", false, "3 warnings"),
        ]);
        assert_eq!(r.verdict, Verdict::NoGo);
        assert_eq!(r.summary, "no-go: 1 blocking gate failed (approvals)");
        let go = report(vec![
            gate("junit", "pass", false, "ok"),
            gate("sarif", "fail", false, "w"),
        ]);
        assert_eq!(go.summary, "go: 1 of 2 gates passed, warnings: sarif");
    }

    #[test]
    fn text_and_markdown_show_every_gate_and_escape_evidence() {
        let r = report(vec![
            gate("junit", "pass", false, "12 tests passed"),
            gate("approvals", "fail", true, "1 approval(s) | 2 required"),
        ]);
        let text = r.text(true);
        assert!(text.starts_with("relman gate: NO-GO — policy production, v1.0.0..abcdef012345 (3 commits, 2 files, +10 -1), risk medium (21.5)\n"), "{text}");
        assert!(
            text.contains("  ✗ approvals  1 approval(s) | 2 required  [blocking]\n"),
            "{text}"
        );
        assert!(text.contains("      how: read x\n"), "{text}");
        assert!(text.contains("      +20 database migration\n"), "{text}");
        let md = r.markdown();
        assert!(
            md.contains("| ❌ | approvals | blocking | 1 approval(s) \\| 2 required |"),
            "{md}"
        );
        assert!(md.contains("- a \\| b &lt;script&gt;"), "{md}");
        assert!(!md.contains("<script>"));
    }

    #[test]
    fn a_base_fallback_is_in_the_verdict_and_the_summary() {
        let mut r = report(vec![gate("junit", "pass", false, "12 tests passed")]);
        r.change.commits = 1;
        r.risk = serde_json::json!({"level": "medium", "score": 48.7});
        let note = "deployments of production unavailable (github: 503): change measured from the last release tag";
        r.base_fallback = Some(note.into());
        let text = r.text(false);
        assert!(text.contains("(1 commit, "), "{text}");
        assert!(text.contains("risk medium (48.7)\n"), "{text}");
        assert!(text.contains(&format!("\n  base: {note}\n")), "{text}");
        let md = r.markdown();
        assert!(md.contains("(1 commit, "), "{md}");
        assert!(md.contains(&format!("> **Base:** {note}\n")), "{md}");
    }

    #[test]
    fn committed_report_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schema/gate-report.schema.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == schema_json(),
            "schema/gate-report.schema.json is stale: run `cargo run -p relman-gate -- --print-report-schema > schema/gate-report.schema.json`"
        );
    }
}
