//! Acting on a decision: audit record, stdout, annotations, job summary, report file,
//! outputs, commit status, in that order.
//!
//! The audit record comes first: a verdict that was not recorded must not be acted on. Only a
//! verdict that need not be durable (`state.durable`) may go unrecorded, and then the report
//! says so (`not_recorded`) everywhere it is shown.

use std::io::Write;
use std::path::PathBuf;

use relman_core::ci::{Level, Runtime};
use relman_core::{Error, ExitCode};
use relman_forge::{AuditRecord, CommitState, CommitStatusSpec, Forge, Subject};

use crate::cli::Format;
use crate::decide::Decision;
use crate::report::{Report, Verdict};
use crate::{AnnotationLevel, outputs};

/// Where and how a decision is published.
pub struct Effects<'a> {
    /// The CI the run reports to (outputs, summary, annotations, log escaping).
    pub runtime: &'a Runtime,
    /// The forge the audit record and the commit status go to.
    pub forge: &'a dyn Forge,
    pub format: Format,
    /// Print how each fact was obtained.
    pub explain: bool,
    /// Where the JSON report goes [default on CI: a new
    /// `$RUNNER_TEMP/relman-gate-report-<policy>-<random>.json` per run].
    pub report: Option<PathBuf>,
    /// Set the commit status (never for a rehearsal).
    pub commit_status: bool,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Effects<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("forge", &self.forge.name())
            .field("format", &self.format)
            .field("explain", &self.explain)
            .field("report", &self.report)
            .field("commit_status", &self.commit_status)
            .finish_non_exhaustive()
    }
}

/// Records, prints and publishes `decision`; the exit code follows the verdict.
pub fn apply(decision: Decision, fx: &Effects) -> Result<ExitCode, Error> {
    let Decision {
        mut report,
        annotations,
        explain,
        status_context,
        rehearsal,
        dry_run,
    } = decision;
    let rt = fx.runtime;
    // Audit first: a verdict that was not recorded must not be acted on.
    report.not_recorded = if dry_run {
        Some("a dry run is not recorded".into())
    } else {
        audit(fx.forge, &report)?
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::Bug(format!("the gate report could not be serialised: {e}")))?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match fx.format {
        Format::Text => {
            let mut w = rt.untrusted(&mut out)?;
            if fx.explain {
                for line in &explain {
                    w.write(&format!("how: {line}\n"))?;
                }
            }
            w.write(&report.text(fx.explain))?;
            w.finish()?;
        }
        // One JSON document on stdout, never fenced: `relman gate --format json | jq` works
        // on a runner (the fence's marker lines were not JSON).
        Format::Json => {
            let mut w = rt.machine(&mut out);
            w.write(&format!("{json}\n"))?;
            w.finish()?;
        }
    }
    // With --format json, what the runner reads as commands (annotations, GitLab's summary
    // section) goes to stderr, which it reads too, so stdout stays the JSON document.
    let stderr = std::io::stderr();
    let mut side = stderr.lock();
    let log: &mut dyn Write = match fx.format {
        Format::Json => &mut side,
        Format::Text => &mut out,
    };
    // On a terminal the text report already says all of it; annotations are for runners.
    let annotations = if rt.is_ci() {
        annotations.as_slice()
    } else {
        &[]
    };
    for a in annotations {
        let level = match a.level {
            AnnotationLevel::Error => Level::Error,
            AnnotationLevel::Warning => Level::Warning,
            AnnotationLevel::Notice => Level::Notice,
        };
        rt.annotate(
            log,
            level,
            a.file.as_deref(),
            a.line,
            Some(&a.title),
            &a.message,
        )?;
    }
    rt.append_summary(log, &report.markdown())?;
    log.flush().map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: e,
    })?;
    out.flush().map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: e,
    })?;

    let report_path = match &fx.report {
        Some(p) => Some(p.clone()),
        None if rt.is_ci() => Some(default_report_path(fx, &report.policy)?),
        None => None,
    };
    if let Some(p) = &report_path {
        // A relative report path is in the job's directory, where a checkout can plant a
        // symlink: one leading out of it is refused.
        let p = relman_core::fsutil::write_target_inside(std::path::Path::new("."), p)?;
        relman_core::fsutil::write_atomic(&p, format!("{json}\n").as_bytes())?;
    }
    rt.set_output(outputs::VERDICT.name, report.verdict.as_str())?;
    rt.set_output(
        outputs::RISK.name,
        report
            .risk
            .get("level")
            .and_then(|l| l.as_str())
            .unwrap_or(""),
    )?;
    if let Some(p) = &report_path {
        rt.set_output(outputs::REPORT.name, &p.display().to_string())?;
    }
    // A rehearsal's verdict is not the commit's: it never reaches the forge as a status.
    if fx.commit_status && !rehearsal {
        commit_status(fx.forge, &report, status_context);
    }
    Ok(match report.verdict {
        Verdict::Go => ExitCode::Success,
        Verdict::NoGo | Verdict::RehearsalGo => ExitCode::Refused,
    })
}

/// The report's place when `--report` is not given on a runner: a new file in `RUNNER_TEMP`
/// named for the policy, unique to this run. Two gate steps in one job (or a job that runs the
/// gate twice) each get their own report, and each step's `report` output points at its own
/// (issue #12 finding 10: one fixed name let the second overwrite the first).
fn default_report_path(fx: &Effects, policy: &str) -> Result<PathBuf, Error> {
    let dir = (fx.env)("RUNNER_TEMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let name: String = policy
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let file = tempfile::Builder::new()
        .prefix(&format!("relman-gate-report-{name}-"))
        .suffix(".json")
        .rand_bytes(6)
        .tempfile_in(&dir)
        .map_err(|source| Error::Write {
            path: dir.join(format!("relman-gate-report-{name}-*.json")),
            source,
        })?;
    // Kept: the path is the step's `report` output, read after relman exits.
    let (_, path) = file.keep().map_err(|e| Error::Write {
        path: e.file.path().to_path_buf(),
        source: e.error,
    })?;
    Ok(path)
}

/// Appends the evaluation (and an override, separately) to the audit log. Returns why the
/// evaluation was not recorded when it need not be durable and could not be pushed.
fn audit(forge: &dyn Forge, report: &Report) -> Result<Option<String>, Error> {
    let subject = Subject {
        sha: Some(report.change.head_sha.clone()),
        tag: None,
        environment: Some(report.environment.clone()),
    };
    if let Some(reason) = &report.override_reason {
        forge.append_audit(&AuditRecord {
            reason: reason.clone(),
            subject: subject.clone(),
            details: serde_json::json!({ "policy": report.policy, "scope": "windows and freezes" }),
            run: report.run_url.clone(),
            ..AuditRecord::now(&report.actor, "gate.override")
        })?;
    }
    // The record holds the verdict and each gate's result, not the whole report (that is the
    // run's artifact): a year of gate runs must not weigh on the repository's clones.
    let gates: Vec<_> = report
        .gates
        .iter()
        .map(|g| serde_json::json!({ "name": g.name, "status": g.status }))
        .collect();
    let details = serde_json::json!({
        "verdict": report.verdict,
        "policy": report.policy,
        "base": report.change.base_sha,
        "risk": report.risk.get("level"),
        "gates": gates,
    });
    match forge.append_audit(&AuditRecord {
        reason: report.summary.clone(),
        subject,
        details,
        run: report.run_url.clone(),
        ..AuditRecord::now(&report.actor, "gate.evaluate")
    }) {
        Ok(()) => Ok(None),
        Err(Error::NotRecorded { why, .. }) => {
            tracing::warn!("the verdict was not recorded: {why}");
            Ok(Some(why))
        }
        Err(e) => Err(e),
    }
}

/// Best effort: a token without `statuses: write` must not turn a verdict into an error.
fn commit_status(forge: &dyn Forge, report: &Report, context: String) {
    let spec = CommitStatusSpec {
        sha: report.change.head_sha.clone(),
        context,
        state: match report.verdict {
            Verdict::Go => CommitState::Success,
            Verdict::NoGo | Verdict::RehearsalGo => CommitState::Failure,
        },
        description: report.summary.chars().take(140).collect(),
        target_url: report.run_url.clone(),
    };
    match forge.set_commit_status(&spec) {
        Ok(outcome) => tracing::info!("commit status {}: {outcome:?}", spec.context),
        Err(Error::Unsupported { .. }) => {}
        Err(e) => tracing::warn!("could not set the {} commit status: {e}", spec.context),
    }
}
