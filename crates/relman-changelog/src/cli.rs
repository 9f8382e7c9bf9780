//! `relman changelog` / `relman-changelog`: flags and the command itself.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use relman_core::ci::Runtime;
use relman_core::cli::Common;
use relman_core::config;
use relman_core::git::Repo;
use relman_core::{Error, ExitCode};

use crate::collect::{Collector, Options, Scope};
use crate::file::{self, Section};
use crate::links::Remote;
use crate::render::{HEADER, Renderer};
use crate::{enrich, outputs, publish};
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

/// GitHub keeps at most 1 MB per output; notes beyond it stay in stdout and `--output` only.
const MAX_NOTES_OUTPUT: usize = 1_000_000;

/// Runs the command, reporting to the CI that runs it (outputs, job summary, annotations).
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = Runtime::detect();
    let result = run_in(&rt, common, args);
    if let Err(e) = &result {
        // Best effort: the error itself is still reported by the caller.
        let _ = rt.annotate_error(&mut std::io::stdout(), e.as_ref());
    }
    result
}

fn run_in(rt: &Runtime, common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut scope = args.scope()?;
    if args.publish {
        scope = match scope {
            Scope::Tag(t) => Scope::Tag(t),
            _ => match publish::ci_tag(&env) {
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
    let repo = Repo::discover(&common.directory)?;
    let root = repo.root();
    let cfg = match &common.config {
        Some(p) => config::load(p)?,
        None => config::load_or_default(&root.join(config::DEFAULT_FILE))?,
    };
    let remote = Remote::detect(
        &cfg.changelog.repository_url,
        &env,
        repo.origin_url().as_deref(),
    );
    let renderer = match args.format {
        Format::Markdown if !args.next_version => Some(Renderer::load(
            args.template
                .as_deref()
                .unwrap_or_else(|| default_template(args, &cfg, &env)),
            &root,
        )?),
        _ => None,
    };
    let collector = Collector::new(
        &repo,
        &cfg,
        remote,
        Options {
            tip: Some(args.head.clone()),
            package: args.package.clone(),
            pre: args.pre.clone(),
            bump: args.bump,
        },
    )?;

    // Enrichment asks the forge once per release: never for --all (hundreds of releases), and
    // only when a forge (not the local store) is in use.
    let enricher = match (&scope, args.next_version, cfg.changelog.enrich) {
        (Scope::All, _, _) | (_, true, _) | (_, _, false) => None,
        _ => match relman_forge::resolve_kind(&cfg.forge, &env) {
            ForgeKind::Github | ForgeKind::Gitlab => {
                match relman_forge::open(&cfg.forge, &cfg.state, &root, &env) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        tracing::warn!(
                            "no pull request links: {}",
                            relman_core::cli::chain_message(&e)
                        );
                        None
                    }
                }
            }
            _ => None,
        },
    };

    // Notes stream to stdout as each release is rendered (a long history is never held in
    // memory); commit text goes through the runtime's untrusted writer (stop-commands on
    // GitHub). The `notes` output is kept only on a CI runner, up to GitHub's output limit.
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let mut notes = String::new();
    let mut notes_truncated = false;
    let mut summary = String::new();
    let mut publish_body: Option<String> = None;
    let mut released: Option<(Option<String>, Option<String>)> = None;
    let mut sections: Vec<Section> = Vec::new();
    let mut first = true;
    let to_file = args.output.is_some();
    let next = {
        let mut out = match args.next_version {
            true => None,
            // JSON is machine output: one document, never fenced (`| jq` works on a runner).
            false if args.format == Format::Json => Some(rt.machine(&mut lock)),
            false => Some(rt.untrusted(&mut lock)?),
        };
        if let Some(o) = out.as_mut() {
            if args.format == Format::Markdown && scope == Scope::All && !to_file {
                o.write(HEADER)?;
            }
            if args.format == Format::Json {
                o.write("[")?;
            }
        }
        let outcome = collector.run(&scope, &mut |mut release| {
            if let Some(f) = &enricher {
                enrich::apply(f.as_ref(), &mut release);
            }
            let Some(o) = out.as_mut() else {
                return Ok(());
            };
            if release.meta.unreleased && release.commit_count == 0 {
                return Ok(());
            }
            match &renderer {
                None => {
                    let json =
                        serde_json::to_string_pretty(&release).map_err(|e| Error::Write {
                            path: "<stdout>".into(),
                            source: std::io::Error::other(e),
                        })?;
                    o.write(if first { "\n" } else { ",\n" })?;
                    o.write(&json)?;
                }
                Some(r) => {
                    // The renderer consumes the release (its entries become template objects).
                    let (version, previous, unreleased) = (
                        release.meta.version.clone(),
                        release.meta.previous_tag.clone(),
                        release.meta.unreleased,
                    );
                    // The job summary gets its own render, commit text escaped (a summary
                    // is a web page the runner shows; the notes stay plain markdown).
                    let shown = match rt.is_ci() && !notes_truncated {
                        true => Some(r.render_summary(release.clone())?),
                        false => None,
                    };
                    let text = r.render(release)?;
                    if args.publish && publish_body.is_none() {
                        publish_body = Some(text.clone());
                    }
                    if released.is_none() {
                        released = Some((version.clone(), previous));
                    }
                    if rt.is_ci() && !notes_truncated {
                        if notes.len() + text.len() > MAX_NOTES_OUTPUT {
                            notes_truncated = true;
                        } else {
                            if !notes.is_empty() {
                                notes.push('\n');
                                summary.push('\n');
                            }
                            notes.push_str(&text);
                            summary.push_str(shown.as_deref().unwrap_or_default());
                        }
                    }
                    if to_file {
                        sections.push(Section::new(
                            version.as_deref().filter(|_| !unreleased || args.bump),
                            text,
                        ));
                    } else {
                        if !first || scope == Scope::All {
                            o.write("\n")?;
                        }
                        o.write(&text)?;
                    }
                }
            }
            first = false;
            Ok(())
        })?;
        if let Some(mut o) = out {
            if args.format == Format::Json {
                o.write(if first { "]\n" } else { "\n]\n" })?;
            }
            o.finish()?;
        }
        if !outcome.unreachable.is_empty() {
            let _ = writeln!(
                relman_core::cli::stderr(),
                "relman: left out {} release tag(s) that {} does not contain (releases of \
                 other branches; describe them with --head BRANCH or --tag): {}",
                outcome.unreachable.len(),
                args.head,
                shortlist(&outcome.unreachable, 10)
            );
        }
        outcome.next
    };
    if notes_truncated {
        tracing::warn!(
            "the notes output holds the newest releases only (over {} KiB in all); \
             use --output to write them all",
            MAX_NOTES_OUTPUT / 1024
        );
    }

    if let Some(nv) = &next {
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
                let json = serde_json::to_string(nv).map_err(|e| Error::Write {
                    path: "<stdout>".into(),
                    source: std::io::Error::other(e),
                })?;
                writeln!(lock, "{json}")?;
            } else if let Some(v) = &nv.version {
                writeln!(lock, "{v}")?;
            }
        } else if first && scope == Scope::Unreleased {
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
    let mut release_url = None;
    if let (true, Scope::Tag(tag), Some(body)) = (args.publish, &scope, &publish_body) {
        let sha = repo.resolve(tag).ok().map(|id| id.to_string());
        let done = publish::publish(&cfg, &root, &env, tag, sha, body, args.draft)?;
        let _ = writeln!(
            relman_core::cli::stderr(),
            "relman: release {tag} {} ({}{})",
            format!("{:?}", done.outcome).to_lowercase(),
            done.backend,
            done.url
                .as_deref()
                .map(|u| format!(": {u}"))
                .unwrap_or_default()
        );
        release_url = done.url;
    }
    if rt.is_ci() {
        if args.publish {
            rt.set_output(
                outputs::RELEASE_URL.name,
                release_url.as_deref().unwrap_or(""),
            )?;
        }
        let (version, previous) = released.unwrap_or_default();
        let version = next.as_ref().and_then(|nv| nv.version.clone()).or(version);
        let previous = previous.or_else(|| next.as_ref().and_then(|nv| nv.previous.clone()));
        rt.set_output(outputs::VERSION.name, version.as_deref().unwrap_or(""))?;
        rt.set_output(
            outputs::PREVIOUS_TAG.name,
            previous.as_deref().unwrap_or(""),
        )?;
        rt.set_output(outputs::NOTES.name, &notes)?;
        if !summary.is_empty() {
            rt.append_summary(&mut std::io::stdout(), &summary)?;
        }
    }

    if let Some(path) = &args.output {
        let path = if path.is_absolute() {
            path.clone()
        } else {
            common.directory.join(path)
        };
        // The file is read, then replaced: a committed symlink (or a directory on the way)
        // leading out of the repository would copy `/proc/self/environ` into the checkout or
        // overwrite a file anywhere. One that stays inside (`CHANGELOG.md -> docs/…`) is
        // followed (issue #12 finding 7).
        // A relative --output is named inside the repository even under `-C /some/link`, so
        // it is checked from the directory's real place.
        let named = match (
            args.output.as_deref(),
            std::fs::canonicalize(&common.directory),
        ) {
            (Some(rel), Ok(dir)) if rel.is_relative() => dir.join(rel),
            _ => path.clone(),
        };
        let path = match relman_core::fsutil::write_target_inside(&root, &named)? {
            target if target == named => path,
            target => target,
        };
        if sections.is_empty() {
            let _ = writeln!(
                relman_core::cli::stderr(),
                "relman: nothing to write to {}",
                path.display()
            );
        } else {
            let changed = file::update(&path, &sections, HEADER)
                .with_context(|| format!("updating {}", path.display()))?;
            let _ = writeln!(
                relman_core::cli::stderr(),
                "relman: {} {}",
                if changed { "updated" } else { "unchanged:" },
                path.display()
            );
        }
    }
    Ok(ExitCode::Success)
}
