//! Acting on the notes: stdout as each release arrives, then the release on the forge, the
//! outputs, the job summary and CHANGELOG.md, in that order.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use relman_core::ci::{Runtime, Untrusted};
use relman_core::git::Repo;
use relman_core::{Error, ExitCode};

use crate::collect::Scope;
use crate::decide::{Decision, Piece, Sink};
use crate::file::{self, Section};
use crate::render::HEADER;
use crate::{outputs, publish};

/// GitHub keeps at most 1 MB per output; notes beyond it stay in stdout and `--output` only.
const MAX_NOTES_OUTPUT: usize = 1_000_000;

/// How pieces are printed.
#[derive(Debug, Clone)]
pub struct Layout {
    pub scope: Scope,
    pub json: bool,
    /// Sections go to `--output`, not to stdout.
    pub to_file: bool,
    /// `--bump`: an unreleased section is titled with the next version.
    pub bump: bool,
}

/// The [`Sink`] of a run: prints each piece (commit text through the runtime's untrusted
/// writer; JSON is machine output, one document, never fenced) and keeps what the outputs,
/// the summary and the file need.
pub struct Printer<'w> {
    out: Untrusted<'w>,
    layout: Layout,
    ci: bool,
    first: bool,
    notes: String,
    summary: String,
    truncated: bool,
    sections: Vec<Section>,
}

/// What the printer kept for the effects after the notes.
#[derive(Debug, Default)]
pub struct Printed {
    /// The `notes` output (CI only), up to GitHub's output limit.
    pub notes: String,
    pub summary: String,
    pub sections: Vec<Section>,
}

impl std::fmt::Debug for Printer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("layout", &self.layout)
            .field("first", &self.first)
            .field("truncated", &self.truncated)
            .finish_non_exhaustive()
    }
}

impl<'w> Printer<'w> {
    pub fn new(rt: &Runtime, out: &'w mut dyn Write, layout: Layout) -> Result<Self, Error> {
        let mut out = match layout.json {
            true => rt.machine(out),
            false => rt.untrusted(out)?,
        };
        if !layout.json && layout.scope == Scope::All && !layout.to_file {
            out.write(HEADER)?;
        }
        if layout.json {
            out.write("[")?;
        }
        Ok(Printer {
            out,
            layout,
            ci: rt.is_ci(),
            first: true,
            notes: String::new(),
            summary: String::new(),
            truncated: false,
            sections: Vec::new(),
        })
    }

    /// Closes the document; what the later effects need.
    pub fn finish(mut self) -> Result<Printed, Error> {
        if self.layout.json {
            self.out.write(if self.first { "]\n" } else { "\n]\n" })?;
        }
        self.out.finish()?;
        if self.truncated {
            tracing::warn!(
                "the notes output holds the newest releases only (over {} KiB in all); \
                 use --output to write them all",
                MAX_NOTES_OUTPUT / 1024
            );
        }
        Ok(Printed {
            notes: self.notes,
            summary: self.summary,
            sections: self.sections,
        })
    }
}

impl Sink for Printer<'_> {
    fn wants_summary(&self) -> bool {
        self.ci && !self.truncated
    }

    fn take(&mut self, piece: Piece) -> Result<(), Error> {
        match piece {
            Piece::Json(json) => {
                self.out.write(if self.first { "\n" } else { ",\n" })?;
                self.out.write(&json)?;
            }
            Piece::Notes(n) => {
                if self.ci && !self.truncated {
                    if self.notes.len() + n.text.len() > MAX_NOTES_OUTPUT {
                        self.truncated = true;
                    } else {
                        if !self.notes.is_empty() {
                            self.notes.push('\n');
                            self.summary.push('\n');
                        }
                        self.notes.push_str(&n.text);
                        self.summary
                            .push_str(n.summary.as_deref().unwrap_or_default());
                    }
                }
                if self.layout.to_file {
                    self.sections.push(Section::new(
                        n.version
                            .as_deref()
                            .filter(|_| !n.unreleased || self.layout.bump),
                        n.text,
                    ));
                } else {
                    if !self.first || self.layout.scope == Scope::All {
                        self.out.write("\n")?;
                    }
                    self.out.write(&n.text)?;
                }
            }
        }
        self.first = false;
        Ok(())
    }
}

/// Where and how the effects after the notes happen.
pub struct Effects<'a> {
    pub runtime: &'a Runtime,
    pub repo: &'a Repo,
    /// The run's forge, opened only when a release is published.
    pub forge: &'a dyn Fn() -> relman_core::Result<&'a dyn relman_forge::Forge>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `--publish`: the tag whose release is written.
    pub publish: Option<&'a str>,
    pub draft: bool,
    /// `--output`, as given, and the directory it is relative to.
    pub output: Option<(&'a Path, &'a Path)>,
}

impl std::fmt::Debug for Effects<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("publish", &self.publish)
            .field("draft", &self.draft)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

/// Publishes the release, sets the outputs and the summary, and writes `--output`.
pub fn apply(decision: &Decision, printed: Printed, fx: &Effects) -> anyhow::Result<ExitCode> {
    let rt = fx.runtime;
    let mut release_url = None;
    if let (Some(tag), Some(body)) = (fx.publish, &decision.publish_body) {
        let sha = fx.repo.resolve(tag).ok().map(|id| id.to_string());
        let done = publish::publish((fx.forge)()?, fx.env, tag, sha, body, fx.draft)?;
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
        if fx.publish.is_some() {
            rt.set_output(
                outputs::RELEASE_URL.name,
                release_url.as_deref().unwrap_or(""),
            )?;
        }
        let next = decision.next.as_ref();
        let (version, previous) = decision.first.clone().unwrap_or_default();
        let version = next.and_then(|nv| nv.version.clone()).or(version);
        let previous = previous.or_else(|| next.and_then(|nv| nv.previous.clone()));
        rt.set_output(outputs::VERSION.name, version.as_deref().unwrap_or(""))?;
        rt.set_output(
            outputs::PREVIOUS_TAG.name,
            previous.as_deref().unwrap_or(""),
        )?;
        rt.set_output(outputs::NOTES.name, &printed.notes)?;
        if !printed.summary.is_empty() {
            rt.append_summary(&mut std::io::stdout(), &printed.summary)?;
        }
    }
    if let Some((output, directory)) = fx.output {
        write_file(fx.repo, output, directory, &printed.sections)?;
    }
    Ok(ExitCode::Success)
}

/// Inserts or replaces `sections` in the `--output` file.
fn write_file(
    repo: &Repo,
    output: &Path,
    directory: &Path,
    sections: &[Section],
) -> anyhow::Result<()> {
    let root = repo.root();
    let path: PathBuf = match output.is_absolute() {
        true => output.to_path_buf(),
        false => directory.join(output),
    };
    // The file is read, then replaced: a committed symlink (or a directory on the way)
    // leading out of the repository would copy `/proc/self/environ` into the checkout or
    // overwrite a file anywhere. One that stays inside (`CHANGELOG.md -> docs/…`) is
    // followed (issue #12 finding 7).
    // A relative --output is named inside the repository even under `-C /some/link`, so
    // it is checked from the directory's real place.
    let named = match (output.is_relative(), std::fs::canonicalize(directory)) {
        (true, Ok(dir)) => dir.join(output),
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
        return Ok(());
    }
    let changed = file::update(&path, sections, HEADER)
        .with_context(|| format!("updating {}", path.display()))?;
    let _ = writeln!(
        relman_core::cli::stderr(),
        "relman: {} {}",
        if changed { "updated" } else { "unchanged:" },
        path.display()
    );
    Ok(())
}
