//! What a run says: the report (`--format json`), its text form and the job summary.
//!
//! Most of it is repository or forge text (configured inputs, refs, reasons, run URLs, the
//! forge's words): the text goes through the runtime's untrusted writer, the summary through
//! `markdown_inline`.

use relman_core::ci::escape::markdown_inline;
use relman_forge::DispatchCheck;
use serde::Serialize;

use crate::claim::{Claim, Dispatched, Ended};
use crate::decide::{Decision, Mode, Resolution};
use crate::plan::Dispatch;
use crate::target::{DeploymentRef, short};
use crate::verify::Verification;

/// Version of the JSON report.
pub const REPORT_VERSION: u32 = 1;

/// Everything a run did, as printed and as `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub environment: String,
    /// `rollback`, `drill` or `dry-run`.
    pub mode: &'static str,
    /// As the `outcome` output.
    pub outcome: String,
    /// One line: what happened, and where to look when it went wrong.
    pub summary: String,
    pub incident: Option<String>,
    pub reason: String,
    pub actor: String,
    pub run: Option<String>,
    pub key: Option<String>,
    pub from: Option<DeploymentRef>,
    pub to: Option<DeploymentRef>,
    /// Why newer deployments were not the target.
    pub skipped: Vec<String>,
    pub dispatch: Option<Dispatch>,
    /// The dispatch in words.
    pub how: Option<String>,
    /// The incident's first claim, when this run reported it instead of dispatching.
    pub first: Option<Claim>,
    pub dispatched: Option<Dispatched>,
    pub ended: Option<Ended>,
    /// A drill's validation.
    pub check: Option<DispatchCheck>,
    /// What the environment's `verify:` will check once the run succeeded, in words.
    pub verify: Vec<String>,
    /// How the verification went, when it ran.
    pub verification: Option<Verification>,
    /// What went wrong besides the outcome (a deployment that could not be marked failed).
    pub problems: Vec<String>,
}

impl Report {
    /// The report of `decision` before anything was done.
    pub fn new(d: &Decision, dry_run: bool) -> Report {
        let mut r = Report {
            version: REPORT_VERSION,
            environment: d.environment.clone(),
            mode: if dry_run {
                "dry-run"
            } else if d.mode == Mode::Rollback {
                "rollback"
            } else {
                "drill"
            },
            outcome: String::new(),
            summary: String::new(),
            incident: d.why.incident.clone(),
            reason: d.why.reason.clone(),
            actor: d.actor.clone(),
            run: d.run_url.clone(),
            key: None,
            from: None,
            to: None,
            skipped: Vec::new(),
            dispatch: None,
            how: None,
            first: None,
            dispatched: None,
            ended: None,
            check: None,
            verify: d.verify.as_ref().map(|v| v.describe()).unwrap_or_default(),
            verification: None,
            problems: Vec::new(),
        };
        match &d.resolution {
            Resolution::Target(t) => {
                r.key = Some(t.key.clone());
                r.from = t.current.clone();
                r.to = Some(t.target.clone());
                r.skipped = t.skipped.clone();
                r.how = Some(t.dispatch.describe());
                r.dispatch = Some(t.dispatch.clone());
            }
            Resolution::Earlier(c) => {
                r.key = Some(c.key.clone());
                r.from = c.from.clone();
                r.to = Some(c.to.clone());
            }
            Resolution::NoTarget(_) => {}
        }
        r
    }

    /// The plain text form.
    pub fn text(&self) -> String {
        let mut t = format!(
            "rollback {} ({}): {}\n  {}\n",
            self.environment, self.mode, self.outcome, self.summary
        );
        let dep = |d: &DeploymentRef| {
            format!(
                "deployment {} of {} ({}, {})",
                d.id,
                short(&d.sha),
                d.git_ref,
                d.state
            )
        };
        if let Some(f) = &self.from {
            t.push_str(&format!("  from:     {}\n", dep(f)));
        }
        if let Some(to) = &self.to {
            t.push_str(&format!("  to:       {}\n", dep(to)));
        }
        for s in &self.skipped {
            t.push_str(&format!("  skipped:  {s}\n"));
        }
        if let Some(h) = &self.how {
            t.push_str(&format!("  dispatch: {h}\n"));
        }
        if let Some(k) = &self.key {
            t.push_str(&format!("  key:      {k}\n"));
        }
        if let Some(c) = &self.first {
            t.push_str(&format!(
                "  first:    claimed by {} at {}{}\n",
                c.actor,
                c.claimed_at,
                c.run
                    .as_deref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(d) = &self.dispatched {
            t.push_str(&format!(
                "  sent:     {}{}\n",
                d.describe(),
                d.url
                    .as_deref()
                    .map(|u| format!(": {u}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(e) = &self.ended {
            t.push_str(&format!(
                "  ended:    {}{}\n",
                e.state,
                e.url
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ));
        }
        match &self.verification {
            Some(v) => {
                t.push_str(&format!("  verified: {}\n", v.summary));
                for e in &v.evidence {
                    t.push_str(&format!("  probe:    {e}\n"));
                }
            }
            None => {
                for v in &self.verify {
                    t.push_str(&format!("  verify:   {v}\n"));
                }
            }
        }
        if let Some(c) = &self.check {
            for x in &c.checked {
                t.push_str(&format!("  checked:  {x}\n"));
            }
            for x in &c.unverified {
                t.push_str(&format!("  not verified (needs a real run): {x}\n"));
            }
            for x in &c.problems {
                t.push_str(&format!("  problem:  {x}\n"));
            }
        }
        for p in &self.problems {
            t.push_str(&format!("  problem:  {p}\n"));
        }
        t
    }

    /// The job summary (every value escaped: it is repository or forge text).
    pub fn markdown(&self) -> String {
        let m = |s: &str| markdown_inline(s);
        let mut md = format!(
            "## relman rollback {}: {}\n\n{}\n\n| | |\n|---|---|\n",
            m(&self.environment),
            m(&self.outcome),
            m(&self.summary)
        );
        let mut row = |k: &str, v: String| md.push_str(&format!("| {k} | {} |\n", m(&v)));
        row("mode", self.mode.to_string());
        row("reason", self.reason.clone());
        if let Some(i) = &self.incident {
            row("incident", i.clone());
        }
        row("by", self.actor.clone());
        if let Some(f) = &self.from {
            row(
                "from",
                format!("deployment {} of {} ({})", f.id, f.sha, f.git_ref),
            );
        }
        if let Some(to) = &self.to {
            row(
                "to",
                format!("deployment {} of {} ({})", to.id, to.sha, to.git_ref),
            );
        }
        if let Some(h) = &self.how {
            row("dispatch", h.clone());
        }
        if let Some(d) = &self.dispatched {
            row(
                "sent",
                format!("{} {}", d.describe(), d.url.clone().unwrap_or_default()),
            );
        }
        if let Some(e) = &self.ended {
            row(
                "ended",
                format!("{} {}", e.state, e.url.clone().unwrap_or_default()),
            );
        }
        match &self.verification {
            Some(v) => {
                row(
                    if v.passed { "verified" } else { "not verified" },
                    v.summary.clone(),
                );
                for e in &v.evidence {
                    row("probe", e.clone());
                }
            }
            None => {
                for v in &self.verify {
                    row("verify", v.clone());
                }
            }
        }
        for p in &self.problems {
            row("problem", p.clone());
        }
        md
    }
}
