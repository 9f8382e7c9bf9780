//! The `checks` gate: required check runs, commit statuses and pipelines on the head commit.
//!
//! Checks still queued or running are waited for, polling, up to `timeout`: a release job
//! often starts while the slower suites still run. One request per poll, whatever the number
//! of checks. A required pattern that matches no check fails: a missing check is not green.

use std::time::{Duration, Instant};

use relman_core::Error;
use relman_core::config::ChecksGate;
use relman_forge::{Check, CheckConclusion, CheckStatus};

use crate::evidence::files::glob;
use crate::{Context, Finding, Status};

/// Evaluates the gate, sleeping between polls while checks are pending.
pub fn evaluate(spec: &ChecksGate, cx: &Context) -> Result<Finding, Error> {
    evaluate_with(spec, cx, &mut |d| std::thread::sleep(d))
}

/// As [`evaluate`], with the sleep injected (tests do not wait).
pub fn evaluate_with(
    spec: &ChecksGate,
    cx: &Context,
    sleep: &mut dyn FnMut(Duration),
) -> Result<Finding, Error> {
    let timeout = duration(&spec.timeout, "checks.timeout")?;
    let poll = duration(&spec.poll_interval, "checks.poll_interval")?.max(Duration::from_secs(1));
    let sha = &cx.change.head_sha;
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut polls = 0u32;
    loop {
        polls += 1;
        let checks = cx.forge.checks_for_commit(sha)?;
        let judged = judge(spec, &checks)?;
        if judged.pending.is_empty() || waited >= timeout {
            let mut f = judged.finding(spec, waited, timeout);
            f.explain.push(format!(
                "asked {} for the checks of {} {polls} time(s) over {}s",
                cx.forge.name(),
                short(sha),
                started.elapsed().as_secs()
            ));
            return Ok(f);
        }
        let step = poll.min(timeout - waited);
        tracing::info!(
            "waiting {}s for {} pending check(s)",
            step.as_secs(),
            judged.pending.len()
        );
        sleep(step);
        waited += step;
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `30s`, `10m`, `1h30m`, `0s`.
pub(crate) fn duration(text: &str, key: &str) -> Result<Duration, Error> {
    let d: jiff::SignedDuration = text.parse().map_err(|e| {
        Error::Usage(format!(
            "{key}: {text:?} is not a duration like 30s or 10m: {e}"
        ))
    })?;
    Duration::try_from(d).map_err(|_| Error::Usage(format!("{key}: {text:?} must not be negative")))
}

struct Judged {
    green: Vec<String>,
    red: Vec<String>,
    pending: Vec<String>,
    missing: Vec<String>,
    considered: usize,
}

fn judge(spec: &ChecksGate, checks: &[Check]) -> Result<Judged, Error> {
    let ignore = spec
        .ignore
        .iter()
        .map(|p| glob(p))
        .collect::<Result<Vec<_>, _>>()?;
    let required = spec
        .required
        .iter()
        .map(|p| glob(p).map(|g| (p.as_str(), g)))
        .collect::<Result<Vec<_>, _>>()?;
    let allowed = |c: CheckConclusion| {
        c == CheckConclusion::Success
            || spec
                .allow_conclusions
                .iter()
                .any(|a| a.eq_ignore_ascii_case(conclusion_name(c)))
    };
    // Forges list the newest first: a re-run's latest result is the one that counts.
    let mut seen = std::collections::HashSet::new();
    let mut j = Judged {
        green: Vec::new(),
        red: Vec::new(),
        pending: Vec::new(),
        missing: Vec::new(),
        considered: 0,
    };
    for c in checks {
        if !seen.insert(c.name.as_str()) || ignore.iter().any(|g| g.is_match(&c.name)) {
            continue;
        }
        if !required.is_empty() && !required.iter().any(|(_, g)| g.is_match(&c.name)) {
            continue;
        }
        j.considered += 1;
        let label = match &c.url {
            Some(u) => format!("{} ({u})", c.name),
            None => c.name.clone(),
        };
        match (c.status, c.conclusion) {
            (CheckStatus::Completed, Some(k)) if allowed(k) => j.green.push(c.name.clone()),
            (CheckStatus::Completed, k) => j.red.push(format!(
                "{label}: {}",
                k.map(conclusion_name).unwrap_or("no conclusion")
            )),
            (s, _) => j.pending.push(format!(
                "{label}: {}",
                if s == CheckStatus::Queued {
                    "queued"
                } else {
                    "in progress"
                }
            )),
        }
    }
    for (pattern, g) in &required {
        if !checks.iter().any(|c| g.is_match(&c.name)) {
            j.missing.push(pattern.to_string());
        }
    }
    Ok(j)
}

impl Judged {
    fn finding(self, spec: &ChecksGate, waited: Duration, timeout: Duration) -> Finding {
        let ok = self.red.is_empty()
            && self.pending.is_empty()
            && self.missing.is_empty()
            && self.considered > 0;
        let mut problems = Vec::new();
        if !self.red.is_empty() {
            problems.push(format!("{} failed", self.red.len()));
        }
        if !self.pending.is_empty() {
            problems.push(format!(
                "{} still running after {}s (timeout {}s)",
                self.pending.len(),
                waited.as_secs(),
                timeout.as_secs()
            ));
        }
        if !self.missing.is_empty() {
            problems.push(format!("required but absent: {}", self.missing.join(", ")));
        }
        let reason = if ok {
            format!("{} check(s) green", self.green.len())
        } else if self.considered == 0 && problems.is_empty() {
            "no checks on the commit".to_string()
        } else {
            problems.join("; ")
        };
        let mut f = Finding::new(if ok { Status::Pass } else { Status::Fail }, reason);
        f.evidence
            .extend(self.red.iter().map(|r| format!("failed: {r}")));
        f.evidence
            .extend(self.pending.iter().map(|p| format!("pending: {p}")));
        f.evidence
            .extend(self.missing.iter().map(|m| format!("missing: {m}")));
        f.evidence
            .extend(self.green.iter().map(|g| format!("green: {g}")));
        f.facts = serde_json::json!({
            "green": self.green.len(),
            "failed": self.red.len(),
            "pending": self.pending.len(),
            "missing": self.missing,
            "required": spec.required,
        });
        f
    }
}

fn conclusion_name(c: CheckConclusion) -> &'static str {
    match c {
        CheckConclusion::Success => "success",
        CheckConclusion::Failure => "failure",
        CheckConclusion::Neutral => "neutral",
        CheckConclusion::Cancelled => "cancelled",
        CheckConclusion::Skipped => "skipped",
        CheckConclusion::TimedOut => "timed_out",
        CheckConclusion::ActionRequired => "action_required",
        CheckConclusion::Stale => "stale",
    }
}
