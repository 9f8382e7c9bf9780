//! `relman rollback` / `relman-rollback`: flags and the command itself.

use relman_core::cli::Common;
use relman_core::config;
use relman_core::state::StateStore;
use relman_core::{Error, ExitCode};
use relman_forge::RunContext;

use crate::apply::{Effects, apply};
use crate::decide::{Facts, Question, decide};
use crate::follow::SystemClock;
use crate::outputs;

/// Output format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// What was decided and done, one line each.
    Text,
    /// The report as JSON.
    Json,
}

/// Back to the last known-good deployment of an environment: dispatched exactly once, followed
/// to the end, recorded; or a drill that proves beforehand that it would work.
///
/// Exit codes: 0 rolled back (or drill passed, or dry run), 1 nothing to roll back to (or
/// drill failed), 2 bad input, 3 the rollback failed, timed out or could not be recorded.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Environment to roll back (a key of rollback.environments in .relman.yml).
    #[arg(long, value_name = "NAME", env = "RELMAN_ROLLBACK_ENVIRONMENT")]
    pub environment: Option<String>,
    /// Deployment to go back to: its id, its ref (a version such as v1.2.0) or its sha
    /// [default: the last successful deployment before the current one].
    #[arg(long, value_name = "DEPLOYMENT", env = "RELMAN_ROLLBACK_TO")]
    pub to: Option<String>,
    /// Incident id (INC-42): recorded, and what makes a retried trigger the same rollback.
    #[arg(long, value_name = "ID", env = "RELMAN_ROLLBACK_INCIDENT")]
    pub incident: Option<String>,
    /// Why: recorded in the audit trail (needed when no --incident is given).
    #[arg(long, value_name = "TEXT", env = "RELMAN_ROLLBACK_REASON")]
    pub reason: Option<String>,
    /// Print the target and the exact dispatch, and do nothing else (no claim, no dispatch,
    /// no record).
    #[arg(long, env = "RELMAN_ROLLBACK_DRY_RUN")]
    pub dry_run: bool,
    /// A drill: resolve the target and validate the dispatch without running it (or run it,
    /// where the environment says `drill: execute`), and record the drill for the gate.
    #[arg(long, env = "RELMAN_ROLLBACK_DRILL")]
    pub drill: bool,
    /// How long to follow the dispatched run, e.g. 45m [default: the environment's timeout].
    #[arg(long, value_name = "DURATION", env = "RELMAN_ROLLBACK_TIMEOUT")]
    pub timeout: Option<String>,
    /// Do not follow the dispatched run: exit once it is dispatched and recorded.
    #[arg(long, env = "RELMAN_ROLLBACK_NO_FOLLOW")]
    pub no_follow: bool,
    /// Output format on stdout: text or json (the report).
    #[arg(long, value_enum, env = "RELMAN_ROLLBACK_FORMAT", default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the rollback, reporting to the CI that runs it: [`run_with`] in the context every
/// relman binary builds ([`RunContext::from_common`]).
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    run_with(&RunContext::from_common(common), args)
}

/// Runs the rollback in `ctx` (its runtime, repository, configuration, forge and clock).
pub fn run_with(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let result = run_in(ctx, args);
    if let Err(e) = &result
        && rt.is_ci()
    {
        // A job reading `outcome` must not see it missing: the run did nothing, and the
        // summary says why (an indented block: no line of the message can end it).
        let mut out = std::io::stdout();
        let message: String = relman_core::cli::chain_message(e.as_ref())
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        let _ = rt.set_output(outputs::OUTCOME.name, "error");
        let _ = rt.append_summary(
            &mut out,
            &format!("## ⚠️ relman rollback: error\n\n{message}"),
        );
    }
    result
}

/// Checks the inputs, gathers the facts, decides, applies.
fn run_in(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let env = ctx.env();
    let Some(environment) = args
        .environment
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Err(Error::Usage(
            "--environment is required (RELMAN_ROLLBACK_ENVIRONMENT): which environment to roll back".into(),
        )
        .into());
    };
    if let Some(t) = &args.timeout {
        config::rollback_duration(t).map_err(|m| Error::Usage(format!("--timeout: {m}")))?;
    }
    let drill_default = args.drill.then(|| {
        format!(
            "rollback drill ({})",
            relman_core::audit::run_url(env).unwrap_or_else(|| {
                ctx.now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date()
                    .to_string()
            })
        )
    });
    let why = crate::reason::why(
        args.incident.as_deref(),
        args.reason.as_deref(),
        drill_default,
    )?;
    let root = ctx.root()?;
    let cfg = ctx.config()?;
    let forge = ctx.forge()?;
    let state = StateStore::open(&root, &cfg.state, env)?;
    let facts = Facts {
        config: cfg,
        forge,
        state: &state,
        env,
    };
    let question = Question {
        environment: environment.to_string(),
        to: args.to.clone().filter(|t| !t.trim().is_empty()),
        why,
        drill: args.drill,
        timeout: args.timeout.clone(),
    };
    let decision = decide(&facts, &question)?;
    let clock = SystemClock::default();
    let effects = Effects {
        runtime: rt,
        forge,
        state: &state,
        format: args.format,
        dry_run: args.dry_run,
        follow: !args.no_follow,
        clock: &clock,
        dir: root.clone(),
        env,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut progress = relman_core::cli::stderr();
    Ok(apply(decision, &effects, &mut out, &mut progress)?.code)
}
