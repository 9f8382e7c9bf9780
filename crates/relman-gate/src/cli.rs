//! `relman gate` / `relman-gate`: flags and the command itself.

use std::path::PathBuf;

use relman_core::cli::Common;
use relman_core::config;
use relman_core::{Error, ExitCode};
use relman_forge::RunContext;

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

/// Runs the gate, reporting to the CI that runs it: [`run_with`] in the context every relman
/// binary builds ([`RunContext::from_common`]).
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    run_with(&RunContext::from_common(common), args)
}

/// Runs the gate in `ctx` (its runtime, repository, configuration, forge and clock).
pub fn run_with(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    if args.print_report_schema {
        print!("{}", crate::report::schema_json());
        return Ok(ExitCode::Success);
    }
    let rt = ctx.runtime();
    let result = rt
        .begin_code_quality()
        .map_err(anyhow::Error::from)
        .and_then(|()| run_in(ctx, args));
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

/// Gathers the facts and the question from the flags, decides, then applies: the order of the
/// checks (inputs, repository, configuration, policy, forge) is the order of the errors.
fn run_in(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let env = ctx.env();
    let override_reason = crate::inputs::override_reason(args.override_reason.as_deref())?;
    let mut rehearsal = Rehearsal::default();
    // `--now` fixes the run's clock for this gate.
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
        None => ctx.now(),
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
    let repo = ctx.repo()?;
    let (configured, source) = ctx.config_source()?;
    // A dry run reads a copy of the configuration with the local store for the forge.
    let dry_config;
    let cfg = match args.dry_run {
        false => configured,
        true => {
            rehearsal.reasons.push(
                "a dry run (--dry-run): the local store stands in for the forge, gates it cannot \
                 answer are not evaluated, nothing is recorded"
                    .into(),
            );
            let mut c = configured.clone();
            c.forge.kind = config::ForgeKind::Local;
            // Never a fetch or a push of the state branch: read what this clone has.
            c.state.remote = Some(String::new());
            dry_config = c;
            &dry_config
        }
    };
    crate::check::config(&cfg.gate, source)?;
    let policy = policy::resolve(&cfg.gate, args.policy.as_deref())?;
    let dry_forge;
    let forge = match args.dry_run {
        false => ctx.forge()?,
        true => {
            dry_forge = ctx.open_forge(cfg)?;
            dry_forge.as_ref()
        }
    };
    let facts = Facts {
        repo,
        config: cfg,
        forge,
        now,
        env,
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
        forge,
        format: args.format,
        explain: args.explain,
        report: args.report.clone(),
        commit_status: !args.no_commit_status,
        env,
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
    use std::cell::RefCell;
    use std::rc::Rc;

    use clap::Parser;
    use relman_core::ci::Runtime;
    use relman_core::config::ForgeKind;

    use crate::diff::fixture::Fixture;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        args: Args,
    }

    fn args(flags: &[&str]) -> Args {
        Flags::parse_from(std::iter::once("relman-gate").chain(flags.iter().copied())).args
    }

    /// A repository with one change since v1.0.0 and `config` as .relman.yml.
    fn repo(config: &str) -> Fixture {
        let mut fx = Fixture::new();
        fx.write("a.txt", "1\n");
        fx.commit("feat: first");
        fx.tag("v1.0.0");
        fx.write("a.txt", "2\n");
        fx.commit("fix: second");
        fx.write(".relman.yml", config);
        fx
    }

    /// A run context on `root` whose forge opener records the kind of each forge it opens.
    fn context(root: &std::path::Path, opened: &Rc<RefCell<Vec<ForgeKind>>>) -> RunContext {
        let common = Common {
            directory: root.to_path_buf(),
            config: None,
            verbose: 0,
        };
        let log = opened.clone();
        RunContext::new(Runtime::Terminal, &common)
            .with_env(|_| None)
            .with_forge_opener(move |cfg, root, env| {
                log.borrow_mut().push(cfg.forge.kind);
                relman_forge::open(&cfg.forge, &cfg.state, root, env)
            })
    }

    const POLICY: &str =
        "gate:\n  policies:\n    prod:\n      gates:\n        - risk: { max_level: critical }\n";

    #[test]
    fn one_forge_serves_the_whole_run() {
        let fx = repo(&format!("forge: {{ kind: local }}\n{POLICY}"));
        let opened = Rc::default();
        let ctx = context(fx.root(), &opened);
        // decide reads the environment's deployment from the forge, apply records the
        // verdict and sets the commit status on it: one forge, opened once.
        let code = run_with(&ctx, &args(&["--policy", "prod", "--format", "json"])).expect("run");
        assert_eq!(code, ExitCode::Success);
        assert_eq!(*opened.borrow(), [ForgeKind::Local]);
        let log = ctx
            .forge()
            .expect("forge")
            .audit_log(&relman_forge::AuditFilter::default())
            .expect("audit");
        assert_eq!(
            log.len(),
            1,
            "the verdict was recorded through the run's forge"
        );
        assert_eq!(opened.borrow().len(), 1, "asking again reuses it");
    }

    #[test]
    fn a_dry_run_never_opens_the_configured_forge() {
        // GitLab without a project or a CI to name one cannot be opened.
        let fx = repo(&format!("forge: {{ kind: gitlab }}\n{POLICY}"));
        let opened = Rc::default();
        let ctx = context(fx.root(), &opened);
        let e = run_with(&ctx, &args(&["--policy", "prod"])).expect_err("no forge");
        assert!(e.to_string().contains("forge.repository"), "{e}");
        opened.borrow_mut().clear();
        let code = run_with(&ctx, &args(&["--policy", "prod", "--dry-run"])).expect("dry run");
        assert_eq!(
            code,
            ExitCode::Refused,
            "a dry run is never a release decision"
        );
        assert_eq!(*opened.borrow(), [ForgeKind::Local]);
    }

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
