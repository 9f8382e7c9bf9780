//! `relman gate` / `relman-gate`: flags and the command itself.

use std::path::PathBuf;

use relman_core::ci::Runtime;
use relman_core::cli::Common;
use relman_core::config;
use relman_core::git::Repo;
use relman_core::{Error, ExitCode};

use crate::apply::{Effects, apply};
use crate::decide::{Facts, Question, decide};
use crate::inputs::Rehearsal;
use crate::{outputs, policy};

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

/// Gathers the facts and the question from the flags, decides, then applies: the order of the
/// checks (inputs, repository, configuration, policy, forge) is the order of the errors.
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
    let forge = relman_forge::open(&cfg.forge, &cfg.state, &root, &env)?;
    let facts = Facts {
        repo: &repo,
        config: &cfg,
        forge: forge.as_ref(),
        now,
        env: &env,
    };
    let question = Question {
        policy,
        environment: args.environment.clone(),
        base: args.base.clone().or(env_base),
        head: args.head.clone(),
        pull_request: args.pull_request,
        override_reason,
        rehearsal,
        dry_run: args.dry_run,
    };
    let decision = decide(&facts, &question)?;
    let effects = Effects {
        runtime: rt,
        forge: forge.as_ref(),
        format: args.format,
        explain: args.explain,
        report: args.report.clone(),
        commit_status: !args.no_commit_status,
        env: &env,
    };
    Ok(apply(decision, &effects)?)
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
