//! `relman gate` / `relman-gate`: flags and the command itself.

use std::io::Write;
use std::path::PathBuf;

use relman_core::ci::{Level, Runtime};
use relman_core::cli::Common;
use relman_core::config;
use relman_core::git::Repo;
use relman_core::{Error, ExitCode};
use relman_forge::{AuditRecord, CommitState, CommitStatusSpec, Deployment, Forge, Subject};

use crate::evaluate::evaluate_with;
use crate::inputs::Rehearsal;
use crate::report::{ChangeSummary, REPORT_VERSION, Report, Verdict};
use crate::{AnnotationLevel, Context, outputs, policy};

/// Output format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The verdict, one line per gate, evidence of failures.
    Text,
    /// The JSON report (schema: schema/gate-report.schema.json).
    Json,
}

/// Go/no-go release decision: evaluates a gate policy from .relman.yml and explains it.
///
/// Exit codes: 0 go, 1 no-go, 2 bad input (config, evidence file), 3 forge or git failure.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Policy to evaluate [default: gate.default_policy].
    #[arg(long, value_name = "NAME", env = "RELMAN_GATE_POLICY")]
    pub policy: Option<String>,
    /// Environment the release goes to [default: the policy name].
    #[arg(long, value_name = "NAME", env = "RELMAN_GATE_ENVIRONMENT")]
    pub environment: Option<String>,
    /// Revision the change is measured from [default: the environment's current deployment,
    /// else the last release tag]. Only this flag sets it for real: RELMAN_GATE_BASE from
    /// the environment makes the run a rehearsal (a smaller change must not pass unnoticed).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Revision being released.
    #[arg(
        long,
        value_name = "REV",
        env = "RELMAN_GATE_HEAD",
        default_value = "HEAD"
    )]
    pub head: String,
    /// Pull / merge request for approval gates [default: from the CI event, else the one the
    /// head commit came from].
    #[arg(long, value_name = "N", env = "RELMAN_GATE_PULL_REQUEST")]
    pub pull_request: Option<u64>,
    /// Emergency override of release windows and freezes; the reason is recorded in the
    /// audit log.
    #[arg(long = "override", value_name = "REASON", env = "RELMAN_GATE_OVERRIDE")]
    pub override_reason: Option<String>,
    /// Rehearse as of this instant (RFC 3339), e.g. a freeze [default: now]. A rehearsal is
    /// never a release decision: a would-be go is `rehearsal-go`, exit 1, no commit status.
    #[arg(long, value_name = "TIME", env = "RELMAN_GATE_NOW")]
    pub now: Option<String>,
    /// Write the JSON report to this file (atomically).
    #[arg(long, value_name = "FILE", env = "RELMAN_GATE_REPORT")]
    pub report: Option<PathBuf>,
    /// Output format on stdout: text (the verdict and each gate) or json (the report).
    #[arg(long, value_enum, env = "RELMAN_GATE_FORMAT", default_value_t = Format::Text)]
    pub format: Format,
    /// Print how each fact was obtained.
    #[arg(long, env = "RELMAN_GATE_EXPLAIN")]
    pub explain: bool,
    /// Do not set the `relman/gate` commit status with the verdict on the forge.
    #[arg(long, env = "RELMAN_GATE_NO_COMMIT_STATUS")]
    pub no_commit_status: bool,
    /// Try a policy on this machine: the local store stands in for the forge (gates it cannot
    /// answer, such as checks and approvals, are shown as not evaluated), nothing is recorded
    /// or pushed, no commit status is set. Like a rehearsal it is never a release decision: a
    /// would-be go is `rehearsal-go`, exit 1. Monitoring probes still go out.
    #[arg(long, env = "RELMAN_GATE_DRY_RUN")]
    pub dry_run: bool,
    /// Print the JSON Schema of the report and exit.
    #[arg(long, hide = true)]
    pub print_report_schema: bool,
}

/// Runs the gate, reporting to the CI that runs it.
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    if args.print_report_schema {
        print!("{}", crate::report::schema_json());
        return Ok(ExitCode::Success);
    }
    let rt = Runtime::detect();
    let result = rt
        .begin_code_quality()
        .map_err(anyhow::Error::from)
        .and_then(|()| run_in(&rt, common, args));
    if let Err(e) = &result {
        let mut out = std::io::stdout();
        let _ = rt.annotate_error(&mut out, e.as_ref());
        // A job that reads `verdict` must not see it missing (or stale): the run decided
        // nothing, and the summary says why. Outside CI the error on stderr says it all.
        if rt.is_ci() {
            let what = match relman_core::cli::exit_code_for(e.as_ref()) {
                ExitCode::BadInput => "bad input (exit 2)",
                _ => "external failure (exit 3)",
            };
            // An indented code block: no line of the message can end it.
            let message: String = relman_core::cli::chain_message(e.as_ref())
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect();
            let _ = rt.set_output(outputs::VERDICT.name, "error");
            let _ = rt.append_summary(
                &mut out,
                &format!("## ⚠️ relman gate: error\n\nNo verdict: {what}.\n\n{message}"),
            );
        }
    }
    result
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

fn run_in(rt: &Runtime, common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let override_reason = crate::inputs::override_reason(args.override_reason.as_deref())?;
    let mut rehearsal = Rehearsal::default();
    let now = match &args.now {
        Some(t) => {
            let at = t
                .parse::<jiff::Timestamp>()
                .map_err(|e| Error::Usage(format!("--now {t:?}: not an RFC 3339 instant: {e}")))?;
            rehearsal.reasons.push(format!(
                "the clock is set to {at} (--now or RELMAN_GATE_NOW)"
            ));
            at
        }
        None => jiff::Timestamp::now(),
    };
    // `--base` is the explicit flag; the same revision from a variable (a GitLab project
    // variable reaches every job) is only honoured as a rehearsal.
    let env_base = match &args.base {
        Some(_) => None,
        None => env(relman_core::vars::GATE_BASE),
    };
    if let Some(b) = &env_base {
        rehearsal.reasons.push(format!(
            "the base {b:?} comes from the {} variable, not --base",
            relman_core::vars::GATE_BASE
        ));
    }
    let given_base = args.base.clone().or(env_base);
    let repo = Repo::discover(&common.directory)?;
    let root = repo.root();
    let (mut cfg, source) = match &common.config {
        Some(p) => config::load_source(p)?,
        None => config::load_source_or_default(&root.join(config::DEFAULT_FILE))?,
    };
    if args.dry_run {
        rehearsal.reasons.push(
            "a dry run (--dry-run): the local store stands in for the forge, gates it cannot \
             answer are not evaluated, nothing is recorded"
                .into(),
        );
        cfg.forge.kind = config::ForgeKind::Local;
        // Never a fetch or a push of the state branch: read what this clone has.
        cfg.state.remote = Some(String::new());
    }
    crate::check::config(&cfg.gate, &source)?;
    let policy = policy::resolve(&cfg.gate, args.policy.as_deref())?;
    let environment = args
        .environment
        .clone()
        .unwrap_or_else(|| policy.name.clone());
    let forge = relman_forge::open(&cfg.forge, &cfg.state, &root, &env)?;
    let mut explain_run = Vec::new();
    let deployment = match &given_base {
        Some(_) => None,
        None => current_deployment(forge.as_ref(), &environment, &mut explain_run),
    };
    // Not only under --explain: a base other than the one asked for changes every measure
    // of the change, so the verdict and the summary say it.
    let mut base_fallback = match (&given_base, &deployment) {
        (None, None) => explain_run.last().cloned(),
        _ => None,
    };
    let deployed = deployment.clone().flatten().map(|d| d.sha).filter(|sha| {
        // A deployment of a commit this clone does not have (another branch, rewritten
        // history) cannot be diffed against: measure from the last release tag instead.
        let known = repo.resolve(sha).is_ok();
        if !known {
            let note = format!(
                "deployed commit {sha} is not in this clone: change measured from the last release tag"
            );
            explain_run.push(note.clone());
            base_fallback = Some(note);
        }
        known
    });
    let base = given_base.clone().or(deployed);
    let head_sha = repo.resolve(&args.head)?.to_string();
    let mut change = crate::diff::change_with(
        &root,
        base.as_deref(),
        &head_sha,
        &cfg.changelog.tag_prefix,
        relman_core::conventional::ParseOptions {
            split_squash: cfg.changelog.split_squash,
        },
    )?;
    change.head = args.head.clone();
    let mut cx = Context {
        root: root.clone(),
        now,
        forge: forge.as_ref(),
        change,
        environment: environment.clone(),
        pull_request: args.pull_request.or_else(|| pull_request_from_ci(&env)),
        override_reason: override_reason.clone(),
        facts: Default::default(),
        // Not asked, or the forge could not answer: a gate that needs it asks (and reports).
        deployment,
    };
    let eval = evaluate_with(
        &policy,
        &cfg.gate.risk,
        &cfg.packages,
        &mut cx,
        args.dry_run,
    )?;
    let (verdict, summary) = Report::summarize(&eval.gates, &rehearsal);
    let files = &cx.change.files;
    let report = Report {
        version: REPORT_VERSION,
        verdict,
        summary,
        policy: policy.name.clone(),
        policies: policy.chain.clone(),
        environment,
        evaluated_at: jiff::Timestamp::from_second(now.as_second())
            .unwrap_or(now)
            .to_string(),
        actor: actor(),
        run_url: run_url(),
        forge: forge.name().to_string(),
        change: ChangeSummary {
            base: cx.change.base.clone(),
            base_sha: cx.change.base_sha.clone(),
            head: cx.change.head.clone(),
            head_sha: cx.change.head_sha.clone(),
            commits: cx.change.commits,
            files: files.len(),
            lines_added: files.iter().map(|f| f.added).sum(),
            lines_removed: files.iter().map(|f| f.removed).sum(),
        },
        risk: eval.risk.clone(),
        override_reason,
        rehearsal: rehearsal.describe(),
        base_fallback,
        gates: eval.gates,
        not_recorded: None,
    };
    debug_assert_eq!(
        report.verdict == Verdict::Go,
        eval.go && !rehearsal.is_rehearsal()
    );

    // Audit first: a verdict that was not recorded must not be acted on. Only a verdict that
    // need not be durable (`state.durable`) may go unrecorded, and then the report says so.
    let mut report = report;
    report.not_recorded = if args.dry_run {
        Some("a dry run is not recorded".into())
    } else {
        audit(forge.as_ref(), &report)?
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    {
        let mut w = rt.untrusted(&mut out)?;
        match args.format {
            Format::Text => {
                for line in &explain_run {
                    if args.explain {
                        w.write(&format!("how: {line}\n"))?;
                    }
                }
                w.write(&report.text(args.explain))?;
            }
            Format::Json => w.write(&format!("{json}\n"))?,
        }
        w.finish()?;
    }
    // On a terminal the text report already says all of it; annotations are for runners.
    let annotations = if rt.is_ci() {
        eval.annotations.as_slice()
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
            &mut out,
            level,
            a.file.as_deref(),
            a.line,
            Some(&a.title),
            &a.message,
        )?;
    }
    rt.append_summary(&mut out, &report.markdown())?;
    out.flush().map_err(|e| Error::Write {
        path: "<stdout>".into(),
        source: e,
    })?;

    let report_path = match &args.report {
        Some(p) => Some(p.clone()),
        None if rt.is_ci() => Some(
            env("RUNNER_TEMP")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join("relman-gate-report.json"),
        ),
        None => None,
    };
    if let Some(p) = &report_path {
        relman_core::fsutil::write_atomic(p, format!("{json}\n").as_bytes())?;
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
    if !args.no_commit_status && !rehearsal.is_rehearsal() {
        commit_status(
            forge.as_ref(),
            &report,
            &policy.name,
            &cfg.gate.default_policy,
        );
    }
    Ok(match report.verdict {
        Verdict::Go => ExitCode::Success,
        Verdict::NoGo | Verdict::RehearsalGo => ExitCode::Refused,
    })
}

/// The environment's current (last good) deployment, `Some(None)` when it has none, `None`
/// when the forge cannot say (the change is then measured from the last release tag).
fn current_deployment(
    forge: &dyn Forge,
    environment: &str,
    explain: &mut Vec<String>,
) -> Option<Option<Deployment>> {
    match forge.last_successful_deployment(environment) {
        Ok(Some(d)) => {
            explain.push(format!(
                "current deployment to {environment}: {} of {}",
                d.id, d.sha
            ));
            Some(Some(d))
        }
        Ok(None) => {
            explain.push(format!(
                "no deployment to {environment} yet: change measured from the last release tag"
            ));
            Some(None)
        }
        Err(e) => {
            explain.push(format!(
                "deployments of {environment} unavailable ({e}): change measured from the last release tag"
            ));
            None
        }
    }
}

/// The pull / merge request of the CI event, if the run is for one.
pub fn pull_request_from_ci(env: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    if let Some(iid) = env("CI_MERGE_REQUEST_IID") {
        return iid.parse().ok();
    }
    // GitHub: refs/pull/<n>/merge on pull_request events.
    env("GITHUB_REF")?
        .strip_prefix("refs/pull/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

fn actor() -> String {
    ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "USERNAME"]
        .iter()
        .find_map(|k| env(k))
        .unwrap_or_else(|| "unknown".into())
}

fn run_url() -> Option<String> {
    if let (Some(server), Some(repo), Some(id)) = (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{id}"));
    }
    env("CI_JOB_URL").or_else(|| env("CI_PIPELINE_URL"))
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
fn commit_status(forge: &dyn Forge, report: &Report, policy: &str, default_policy: &str) {
    let context = if policy == default_policy {
        "relman/gate".to_string()
    } else {
        format!("relman/gate/{policy}")
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_from_github_and_gitlab_events() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            pull_request_from_ci(&env(&[("GITHUB_REF", "refs/pull/42/merge")])),
            Some(42)
        );
        assert_eq!(
            pull_request_from_ci(&env(&[("GITHUB_REF", "refs/heads/main")])),
            None
        );
        assert_eq!(
            pull_request_from_ci(&env(&[("CI_MERGE_REQUEST_IID", "7")])),
            Some(7)
        );
        assert_eq!(pull_request_from_ci(&env(&[])), None);
    }
}
