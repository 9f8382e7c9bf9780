//! `relman changelog` / `relman-changelog`: flags and the command itself.

use std::io::Write;
use std::path::PathBuf;

use relman_core::cli::Common;
use relman_core::{Error, ExitCode};
use relman_forge::RunContext;

use crate::apply::{Effects, Layout, Printed, Printer, apply};
use crate::collect::{Collector, Options, Scope};
use crate::decide::{Facts, NoPieces, Question, decide};
use crate::links::Remote;
use crate::publish;
use crate::render::Renderer;
use relman_core::config::ForgeKind;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rendered with the template.
    Markdown,
    /// The template context of each release (see docs/template-context.md).
    Json,
}

/// Release notes and the next version from conventional commits.
///
/// Without a scope flag, prints the notes for the commits since the last release tag.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Notes of one existing release, e.g. v1.2.0.
    #[arg(long, value_name = "TAG", env = "RELMAN_CHANGELOG_TAG", conflicts_with_all = ["all", "range"])]
    pub tag: Option<String>,
    /// Notes of every release, newest first, and the unreleased commits.
    #[arg(long, env = "RELMAN_CHANGELOG_ALL", conflicts_with = "range")]
    pub all: bool,
    /// Notes of the commits in A..B (like `git log A..B`); `A..` means `A..HEAD`.
    #[arg(long, value_name = "A..B", env = "RELMAN_CHANGELOG_RANGE")]
    pub range: Option<String>,
    /// Print only the next version (e.g. 1.3.0); nothing when there is nothing to release.
    /// With --format json: `{"version", "previous", "bump"}` on one line.
    #[arg(long, env = "RELMAN_CHANGELOG_NEXT_VERSION", conflicts_with_all = ["tag", "all", "range", "output"])]
    pub next_version: bool,
    /// Only commits touching this package's paths, and its tags (see `packages` in .relman.yml).
    #[arg(long, value_name = "NAME", env = "RELMAN_CHANGELOG_PACKAGE")]
    pub package: Option<String>,
    /// Make the next version a pre-release: `--pre rc` gives 1.3.0-rc.1, then rc.2.
    #[arg(long, value_name = "ID", env = "RELMAN_CHANGELOG_PRE")]
    pub pre: Option<String>,
    /// Title unreleased notes with the next version and date instead of "Unreleased".
    #[arg(long, env = "RELMAN_CHANGELOG_BUMP")]
    pub bump: bool,
    /// Insert or replace the release section(s) in this file (e.g. CHANGELOG.md), atomically.
    #[arg(long, short, value_name = "FILE", env = "RELMAN_CHANGELOG_OUTPUT")]
    pub output: Option<PathBuf>,
    /// Template: keepachangelog, github, gitlab, or a file path [default: from .relman.yml].
    #[arg(long, value_name = "NAME|PATH", env = "RELMAN_CHANGELOG_TEMPLATE")]
    pub template: Option<String>,
    /// Output format: markdown (the template) or json (the template context).
    #[arg(long, value_enum, env = "RELMAN_CHANGELOG_FORMAT", default_value_t = Format::Markdown)]
    pub format: Format,
    /// Revision the notes are for.
    #[arg(
        long,
        value_name = "REV",
        env = "RELMAN_CHANGELOG_HEAD",
        default_value = "HEAD"
    )]
    pub head: String,
    /// Create or update the release of --tag (default: the tag a CI run was pushed for) on the
    /// forge, or in the local store (.relman/) when none is configured; audited.
    #[arg(long, env = "RELMAN_CHANGELOG_PUBLISH", conflicts_with_all = ["all", "range", "next_version"])]
    pub publish: bool,
    /// With --publish: create the release as a draft.
    #[arg(long, env = "RELMAN_CHANGELOG_DRAFT", requires = "publish")]
    pub draft: bool,
}

impl Args {
    fn scope(&self) -> Result<Scope, Error> {
        if let Some(t) = &self.tag {
            return Ok(Scope::Tag(t.clone()));
        }
        if self.all {
            return Ok(Scope::All);
        }
        if let Some(r) = &self.range {
            let Some((a, b)) = r.split_once("..") else {
                return Err(Error::Usage(format!("--range {r:?}: expected A..B")));
            };
            if a.is_empty() || b.starts_with('.') {
                return Err(Error::Usage(format!(
                    "--range {r:?}: expected A..B (three dots are not supported)"
                )));
            }
            let b = if b.is_empty() { "HEAD" } else { b };
            return Ok(Scope::Range(a.to_string(), b.to_string()));
        }
        Ok(Scope::Unreleased)
    }
}

/// The template when none is asked for: a release on a forge reads best in its own style.
fn default_template<'a>(
    args: &Args,
    cfg: &'a relman_core::config::Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> &'a str {
    if !args.publish {
        return &cfg.changelog.template;
    }
    match relman_forge::resolve_kind(&cfg.forge, env) {
        ForgeKind::Github => "github",
        ForgeKind::Gitlab => "gitlab",
        _ => &cfg.changelog.template,
    }
}

/// The first `n` names, then how many more.
fn shortlist(names: &[String], n: usize) -> String {
    let mut s = names[..names.len().min(n)].join(", ");
    if names.len() > n {
        s.push_str(&format!(" and {} more", names.len() - n));
    }
    s
}

/// Runs the command, reporting to the CI that runs it (outputs, job summary, annotations):
/// [`run_with`] in the context every relman binary builds ([`RunContext::from_common`]).
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    run_with(&RunContext::from_common(common), args)
}

/// Runs the command in `ctx` (its runtime, repository, configuration and forge; the forge is
/// opened only for pull request links and `--publish`).
pub fn run_with(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let result = run_in(ctx, args);
    if let Err(e) = &result {
        // Best effort: the error itself is still reported by the caller.
        let _ = rt.annotate_error(&mut std::io::stdout(), e.as_ref());
    }
    result
}

fn run_in(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let env = ctx.env();
    let mut scope = args.scope()?;
    if args.publish {
        scope = match scope {
            Scope::Tag(t) => Scope::Tag(t),
            _ => match publish::ci_tag(env) {
                Some(t) => Scope::Tag(t),
                None => {
                    return Err(Error::Usage(
                        "--publish needs --tag (or a tag push in CI) to know which release to write"
                            .into(),
                    )
                    .into());
                }
            },
        };
        if args.format == Format::Json {
            return Err(Error::Usage(
                "--publish publishes markdown notes, not --format json".into(),
            )
            .into());
        }
    }
    if args.format == Format::Json && args.output.is_some() {
        return Err(Error::Usage(
            "--output writes markdown; use --format json without --output".into(),
        )
        .into());
    }
    let repo = ctx.repo()?;
    let root = repo.root();
    let cfg = ctx.config()?;
    let remote = Remote::detect(
        &cfg.changelog.repository_url,
        env,
        repo.origin_url().as_deref(),
    );
    let renderer = match args.format {
        Format::Markdown if !args.next_version => Some(Renderer::load(
            args.template
                .as_deref()
                .unwrap_or_else(|| default_template(args, cfg, env)),
            &root,
        )?),
        _ => None,
    };
    let collector = Collector::new(
        repo,
        cfg,
        remote,
        Options {
            tip: Some(args.head.clone()),
            package: args.package.clone(),
            pre: args.pre.clone(),
            bump: args.bump,
        },
    )?;
    let facts = Facts {
        collector: &collector,
        renderer: renderer.as_ref(),
        enricher: enricher(&scope, args, ctx)?,
    };
    let question = Question {
        scope: scope.clone(),
        next_version: args.next_version,
        publish: args.publish,
    };

    // Notes stream to stdout as each release is rendered.
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let (decision, printed) = match args.next_version {
        true => (
            decide(&facts, &question, &mut NoPieces)?,
            Printed::default(),
        ),
        false => {
            let layout = Layout {
                scope: scope.clone(),
                json: args.format == Format::Json,
                to_file: args.output.is_some(),
                bump: args.bump,
            };
            let mut printer = Printer::new(rt, &mut lock, layout)?;
            let decision = decide(&facts, &question, &mut printer)?;
            (decision, printer.finish()?)
        }
    };
    if !decision.unreachable.is_empty() {
        let _ = writeln!(
            relman_core::cli::stderr(),
            "relman: left out {} release tag(s) that {} does not contain (releases of \
             other branches; describe them with --head BRANCH or --tag): {}",
            decision.unreachable.len(),
            args.head,
            shortlist(&decision.unreachable, 10)
        );
    }
    if let Some(nv) = &decision.next {
        match (&nv.version, &nv.previous) {
            (None, Some(p)) => tracing::info!("nothing to release since {p}"),
            (None, None) => tracing::info!("nothing to release"),
            (Some(v), p) => tracing::info!(
                "next version {v} ({:?} since {})",
                nv.bump,
                p.as_deref().unwrap_or("the beginning")
            ),
        }
        if args.next_version {
            // A computed version, not commit text: raw, so `$(relman changelog --next-version)`
            // works on any runner.
            if args.format == Format::Json {
                // Versions, tag names and a bump level: computed, not commit text.
                let json = serde_json::to_string(nv)
                    .map_err(|e| Error::Bug(format!("the next version as JSON: {e}")))?;
                writeln!(lock, "{json}")?;
            } else if let Some(v) = &nv.version {
                writeln!(lock, "{v}")?;
            }
        } else if decision.pieces == 0 && scope == Scope::Unreleased {
            let _ = writeln!(
                relman_core::cli::stderr(),
                "relman: nothing unreleased{}",
                nv.previous
                    .as_deref()
                    .map(|p| format!(" since {p}"))
                    .unwrap_or_default()
            );
        }
    }
    lock.flush()?;
    drop(lock);
    let publish = match (args.publish, &scope) {
        (true, Scope::Tag(tag)) => Some(tag.as_str()),
        _ => None,
    };
    let forge = || ctx.forge();
    let effects = Effects {
        runtime: rt,
        repo,
        forge: &forge,
        env,
        publish,
        draft: args.draft,
        output: args.output.as_deref().map(|o| (o, ctx.directory())),
    };
    apply(&decision, printed, &effects)
}

/// Where pull-request links come from: the forge once per release — never for `--all`
/// (hundreds of releases), and only when a forge (not the local store) is in use.
fn enricher<'c>(
    scope: &Scope,
    args: &Args,
    ctx: &'c RunContext,
) -> relman_core::Result<Option<&'c dyn relman_forge::Forge>> {
    let cfg = ctx.config()?;
    if *scope == Scope::All || args.next_version || !cfg.changelog.enrich {
        return Ok(None);
    }
    Ok(match relman_forge::resolve_kind(&cfg.forge, ctx.env()) {
        ForgeKind::Github | ForgeKind::Gitlab => match ctx.forge() {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(
                    "no pull request links: {}",
                    relman_core::cli::chain_message(&e)
                );
                None
            }
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use clap::Parser;
    use relman_core::ci::Runtime;
    use relman_core::state::testing::{git, repo};

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn next_version_runs_with_a_forge_that_cannot_be_opened() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path();
        repo(dir);
        // GitLab without a project or a CI to name one: opening it fails.
        std::fs::write(dir.join(".relman.yml"), "forge: { kind: gitlab }\n").expect("cfg");
        git(dir, &["commit", "-q", "--allow-empty", "-m", "feat: one"]);
        let common = Common {
            directory: dir.to_path_buf(),
            config: None,
            verbose: 0,
        };
        let asked = Rc::new(Cell::new(0));
        let count = asked.clone();
        let ctx = RunContext::new(Runtime::Terminal, &common)
            .with_env(|_| None)
            .with_forge_opener(move |cfg, root, env| {
                count.set(count.get() + 1);
                relman_forge::open(&cfg.forge, &cfg.state, root, env)
            });
        assert!(ctx.forge().is_err(), "the configured forge is broken");
        asked.set(0);
        let args = Flags::parse_from(["relman-changelog", "--next-version"]).args;
        assert_eq!(run_with(&ctx, &args).expect("runs"), ExitCode::Success);
        assert_eq!(asked.get(), 0, "--next-version never asks for the forge");
    }
}
